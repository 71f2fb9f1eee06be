// Command-line parsing with the exit codes Winback's programs document.
//
// CLI11 picks its own exit codes for a parse error (105 for a value outside
// a set, 106 for an unknown option, ...). Every Winback program exits 2 for
// a usage error instead, as for a configuration that does not load, and 0
// after --help. Header-only: only programs that link CLI11::CLI11 use it.
#ifndef WINBACK_JOBS_COMMON_COMMAND_LINE_H_
#define WINBACK_JOBS_COMMON_COMMAND_LINE_H_

#include <optional>

#include "CLI/CLI.hpp"

namespace winback {

// Parses argv into `app`. nullopt: go on. Otherwise the program's exit code;
// CLI11 has printed the help, or the error with a pointer to --help.
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc,
                                           char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_COMMAND_LINE_H_
