#include "services/pipeline_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "jobs/common/huge_pages.h"
#include "jobs/common/resource_usage.h"
#include "jobs/common/status_macros.h"
#include "jobs/common/utf8.h"
#include "jobs/pipeline/pipeline.h"
#include "jobs/store/store.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

extern char** environ;

namespace winback {
namespace pipeline_process_internal {

using nlohmann::json;

namespace {

// One line of JSON. Text that is not UTF-8 (a message may quote a file's
// bytes) has its bad bytes replaced rather than failing the whole line.
std::string Dump(const json& doc) {
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string ProgressLine(const Progress& p) {
  return Dump(json{{"progress",
                    {{"run_id", p.run_id},
                     {"stage", p.stage},
                     {"index", p.stage_index},
                     {"count", p.stage_count},
                     {"done", p.done},
                     {"rows", p.rows},
                     {"seconds", p.seconds}}}});
}

std::string ResultLine(const absl::Status& status) {
  return Dump(json{{"result",
                    {{"code", static_cast<int>(status.code())},
                     {"message", std::string(status.message())}}}});
}

namespace {

// The member `key` of `object` as T, or an error naming it.
template <typename T>
absl::StatusOr<T> Member(const json& object, const char* key,
                         json::value_t type) {
  const auto it = object.find(key);
  if (it == object.end()) {
    return absl::InvalidArgumentError(absl::StrCat("no \"", key, "\""));
  }
  // Integers may come as unsigned; a float field accepts any number.
  const bool number = type == json::value_t::number_float && it->is_number();
  const bool integer = type == json::value_t::number_integer &&
                       (it->is_number_integer() || it->is_number_unsigned());
  if (it->type() != type && !number && !integer) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" is a ", it->type_name()));
  }
  return it->get<T>();
}

absl::StatusOr<ChildLine> ParseLine(std::string_view line) {
  const json doc = json::parse(line.begin(), line.end(), nullptr,
                               /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not JSON");
  if (!doc.is_object() || doc.size() != 1) {
    return absl::InvalidArgumentError(
        "not an object with one member, progress or result");
  }
  ChildLine out;
  if (const auto it = doc.find("progress"); it != doc.end()) {
    if (!it->is_object()) {
      return absl::InvalidArgumentError("\"progress\" is not an object");
    }
    using V = json::value_t;
    Progress p;
    WB_ASSIGN_OR_RETURN(p.run_id,
                        Member<int64_t>(*it, "run_id", V::number_integer));
    WB_ASSIGN_OR_RETURN(p.stage, Member<std::string>(*it, "stage", V::string));
    WB_ASSIGN_OR_RETURN(p.stage_index,
                        Member<int>(*it, "index", V::number_integer));
    WB_ASSIGN_OR_RETURN(p.stage_count,
                        Member<int>(*it, "count", V::number_integer));
    WB_ASSIGN_OR_RETURN(p.done, Member<bool>(*it, "done", V::boolean));
    WB_ASSIGN_OR_RETURN(p.rows,
                        Member<int64_t>(*it, "rows", V::number_integer));
    WB_ASSIGN_OR_RETURN(p.seconds,
                        Member<double>(*it, "seconds", V::number_float));
    if (p.run_id <= 0) {
      return absl::InvalidArgumentError("\"run_id\" is not positive");
    }
    out.progress = std::move(p);
    return out;
  }
  if (const auto it = doc.find("result"); it != doc.end()) {
    if (!it->is_object()) {
      return absl::InvalidArgumentError("\"result\" is not an object");
    }
    WB_ASSIGN_OR_RETURN(
        const int code,
        Member<int>(*it, "code", json::value_t::number_integer));
    WB_ASSIGN_OR_RETURN(
        std::string message,
        Member<std::string>(*it, "message", json::value_t::string));
    if (code < 0 ||
        code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"code\" ", code, " is not a status code"));
    }
    out.result =
        code == 0 ? absl::OkStatus()
                  : absl::Status(static_cast<absl::StatusCode>(code), message);
    return out;
  }
  return absl::InvalidArgumentError(
      "not an object with one member, progress or result");
}

}  // namespace

absl::StatusOr<ChildLine> ParseChildLine(std::string_view line) {
  absl::StatusOr<ChildLine> parsed = ParseLine(line);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unreadable line from the pipeline process (",
        parsed.status().message(), "): ", EscapeInvalidUtf8(line, 200)));
  }
  return parsed;
}

}  // namespace pipeline_process_internal

namespace {

using pipeline_process_internal::ChildLine;
using pipeline_process_internal::ParseChildLine;
using pipeline_process_internal::ProgressLine;
using pipeline_process_internal::ResultLine;

constexpr int kProgressFd = 3;

std::string Errno(int err) { return std::strerror(err); }

// A file descriptor closed on destruction.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes the descriptor held, then holds `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Moves `fd` to a number of at least 10 (close-on-exec), so that the
// child's dup2 onto 0 and 3 never meets one of its own sources.
int Lifted(int fd) {
  if (fd < 0 || fd >= 10) return fd;
  const int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return lifted;
}

// What a wait status says about a child that reported no result.
std::string Describe(pid_t pid, int status, bool killed_by_us) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    std::string text = absl::StrCat("the pipeline process (pid ", pid,
                                    ") was killed by signal ", sig, " (",
                                    ::strsignal(sig), ")");
    if (sig == SIGKILL && !killed_by_us) {
      absl::StrAppend(&text,
                      "; the kernel's out-of-memory killer sends SIGKILL: see "
                      "dmesg");
    }
    return text;
  }
  return absl::StrCat("the pipeline process (pid ", pid,
                      ") exited with status ", WEXITSTATUS(status),
                      " without reporting how the run ended; see the log");
}

// Writes all of `text` to `fd`; false on error.
bool WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

class ChildRun {
 public:
  ChildRun(const std::string& config_json, const std::string& secret_env,
           const PipelineProcessOptions& options, Store* store,
           const RunRequest& request, const ProgressFn& progress,
           const std::atomic<bool>* cancel)
      : config_json_(config_json),
        secret_env_(secret_env),
        options_(options),
        store_(store),
        request_(request),
        progress_(progress),
        cancel_(cancel) {}

  absl::StatusOr<RunResult> Run() {
    absl::StatusOr<pid_t> pid = Spawn();
    if (!pid.ok()) return pid.status();
    pid_ = *pid;
    spdlog::info("event=pipeline_process_started pid={}", pid_);
    if (options_.on_start) options_.on_start(pid_);
    const int status = Supervise();
    const ProcessUsage usage = Usage();
    if (options_.on_exit) options_.on_exit(usage);
    absl::Status outcome;
    if (result_.has_value()) {
      outcome = *result_;
    } else {
      const std::string what = Describe(pid_, status, killed_);
      outcome = killed_ ? absl::CancelledError(absl::StrCat(
                              "cancelled: the pipeline process did not stop "
                              "within ",
                              absl::FormatDuration(options_.stop_grace),
                              " and was killed"))
                        : absl::InternalError(what);
      spdlog::error("event=pipeline_process_died pid={} run_id={} error=\"{}\"",
                    pid_, run_id_, what);
    }
    RunResult result;
    if (run_id_ > 0) Settle(usage, &outcome, &result.record);
    if (!outcome.ok()) return outcome;
    return result;
  }

 private:
  // What the exited child used, logged.
  ProcessUsage Usage() const {
    ProcessUsage usage;
    usage.pid = pid_;
    usage.run_id = run_id_;
    usage.cpu_seconds = CpuSeconds(usage_);
    // The kernel counts the daemon's own peak (it shares the daemon's memory
    // until exec) into the child's: a floor of about 30 MiB.
    usage.peak_rss_bytes = PeakRssBytes(usage_);
    spdlog::info(
        "event=pipeline_process_exited pid={} run_id={} cpu_seconds={:.3f} "
        "peak_rss_mib={:.1f}",
        pid_, run_id_, usage.cpu_seconds, usage.peak_rss_bytes / 1048576.0);
    return usage;
  }

  // Records the run's usage and, when the child died before recording how
  // the run ended, that ending (*outcome, made an error if it was OK); then
  // reads the run back into *record.
  void Settle(const ProcessUsage& usage, absl::Status* outcome,
              RunRecord* record) {
    if (const absl::Status recorded = store_->SetRunUsage(
            run_id_, usage.cpu_seconds, usage.peak_rss_bytes);
        !recorded.ok()) {
      spdlog::error("event=run_usage_not_recorded run_id={} error=\"{}\"",
                    run_id_, recorded.ToString());
    }
    absl::StatusOr<RunRecord> stored = store_->GetRun(run_id_);
    if (stored.ok() && !IsFinished(stored->state)) {
      if (outcome->ok()) {
        *outcome = absl::InternalError(
            "the pipeline process reported success without recording it");
      }
      const absl::Status finish = store_->FinishUnpublished(
          run_id_,
          absl::IsCancelled(*outcome) ? RunState::kCancelled
                                      : RunState::kFailed,
          outcome->message(), NowMicros());
      if (!finish.ok()) {
        spdlog::error("event=run_finish_failed run_id={} error=\"{}\"", run_id_,
                      finish.ToString());
      }
      stored = store_->GetRun(run_id_);
    }
    if (stored.ok()) *record = *std::move(stored);
  }

  absl::StatusOr<pid_t> Spawn() {
    nlohmann::json request{
        {"config", config_json_},
        {"trigger", std::string(RunTriggerName(request_.trigger))},
        {"request_id", request_.request_id},
        {"export_dir", request_.export_dir},
        {"stage_delay_ms", absl::ToInt64Milliseconds(options_.stage_delay)},
        {"parent_pid", static_cast<int64_t>(::getpid())}};
    if (request_.as_of.has_value()) request["as_of_us"] = *request_.as_of;
    // The request goes in as a file, so that a child that dies before
    // reading it cannot leave the daemon blocked on (or killed by) a pipe.
    Fd input(Lifted(::memfd_create("winback-pipeline-request", MFD_CLOEXEC)));
    if (input.get() < 0 ||
        !WriteAll(input.get(), pipeline_process_internal::Dump(request)) ||
        ::lseek(input.get(), 0, SEEK_SET) != 0) {
      return absl::InternalError(absl::StrCat(
          "cannot write the pipeline process's request: ", Errno(errno)));
    }
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot make a pipe: ", Errno(errno)));
    }
    output_.Reset(Lifted(ends[0]));
    Fd write_end(Lifted(ends[1]));

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, input.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), kProgressFd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The daemon blocks SIGTERM and SIGINT to take them with sigwait; the
    // child takes them the same way (as a request to cancel). Everything
    // else starts with its default action.
    sigset_t mask, defaults;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    posix_spawnattr_setsigmask(&attr, &mask);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv;
    for (const std::string& a : options_.args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    // The daemon's environment, less the API keys: a run has no use for
    // them; and malloc with huge pages (jobs/common/huge_pages.h).
    std::vector<char*> env;
    const std::string keys = secret_env_ + "=";
    constexpr std::string_view kTunables = "GLIBC_TUNABLES=";
    std::string_view tunables;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (entry.starts_with(kTunables)) {
        tunables = entry.substr(kTunables.size());
      } else if (secret_env_.empty() || !entry.starts_with(keys)) {
        env.push_back(*e);
      }
    }
    std::string tunables_entry =
        absl::StrCat(std::string(kTunables), TunablesWithHugePages(tunables));
    env.push_back(tunables_entry.data());
    env.push_back(nullptr);
    pid_t pid = 0;
    const int err = ::posix_spawn(&pid, options_.executable.c_str(), &actions,
                                  &attr, argv.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
      return absl::InternalError(
          absl::StrCat("cannot start the pipeline process ",
                       options_.executable, ": ", Errno(err)));
    }
    return pid;
  }

  // Forwards the child's lines until it has exited; passes on a cancel as
  // SIGTERM, then SIGKILL after the grace. Returns the wait status.
  int Supervise() {
    std::string pending;
    bool open = true;
    absl::Time term_sent = absl::InfiniteFuture();
    for (;;) {
      if (open) open = Read(50, &pending);
      if (!open) ::usleep(20'000);
      int status = 0;
      const pid_t done = ::wait4(pid_, &status, WNOHANG, &usage_);
      if (done == pid_ || (done < 0 && errno != EINTR)) {
        // Whatever it wrote is in the pipe by now. (Not waiting for the end
        // of the pipe: something it started may hold it open.)
        while (open && (open = Read(0, &pending))) {
        }
        if (!pending.empty()) Handle(pending);  // a last line, unfinished
        return status;
      }
      if (cancel_ != nullptr && cancel_->load() &&
          term_sent == absl::InfiniteFuture()) {
        term_sent = absl::Now();
        ::kill(pid_, SIGTERM);
      }
      if (!killed_ && absl::Now() > term_sent + options_.stop_grace) {
        killed_ = true;
        spdlog::warn("event=pipeline_process_kill pid={} run_id={} grace={}",
                     pid_, run_id_, absl::FormatDuration(options_.stop_grace));
        ::kill(pid_, SIGKILL);
      }
    }
  }

  // Waits up to `timeout_ms` for the child's output and handles the whole
  // lines read; false once there is nothing more to read (end of the pipe,
  // or nothing ready within a zero timeout).
  bool Read(int timeout_ms, std::string* pending) {
    pollfd p{output_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0) return errno == EINTR;
    if (ready == 0) return timeout_ms > 0;
    char buffer[4096];
    const ssize_t n = ::read(output_.get(), buffer, sizeof(buffer));
    if (n < 0) return errno == EINTR;
    if (n == 0) return false;
    pending->append(buffer, static_cast<size_t>(n));
    Consume(pending);
    return true;
  }

  void Consume(std::string* pending) {
    size_t start = 0;
    for (size_t nl; (nl = pending->find('\n', start)) != std::string::npos;
         start = nl + 1) {
      Handle(std::string_view(*pending).substr(start, nl - start));
    }
    pending->erase(0, start);
  }

  void Handle(std::string_view line) {
    absl::StatusOr<ChildLine> parsed = ParseChildLine(line);
    if (!parsed.ok()) {
      spdlog::warn("event=pipeline_process_line_ignored pid={} error=\"{}\"",
                   pid_, std::string(parsed.status().message()));
      return;
    }
    if (parsed->progress.has_value()) {
      run_id_ = parsed->progress->run_id;
      if (progress_) progress_(*parsed->progress);
    }
    if (parsed->result.has_value()) result_ = *parsed->result;
  }

  const std::string& config_json_;
  const std::string& secret_env_;  // a variable the child does not get
  const PipelineProcessOptions& options_;
  Store* const store_;
  const RunRequest& request_;
  const ProgressFn& progress_;
  const std::atomic<bool>* const cancel_;
  Fd output_;  // the read end of the child's fd 3
  pid_t pid_ = -1;
  int64_t run_id_ = 0;
  bool killed_ = false;
  std::optional<absl::Status> result_;
  rusage usage_{};
};

// The child's cancel flag, set by its signal thread.
std::atomic<bool> child_cancel{false};

// What the daemon sent on stdin (see ChildRun::Spawn).
struct ChildInput {
  std::string config_json;
  RunRequest request;
  int64_t stage_delay_ms = 0;
  int64_t parent_pid = 0;
};

absl::StatusOr<ChildInput> ReadChildInput(const std::string& text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not JSON");
  ChildInput in;
  try {
    in.config_json = doc.at("config").get<std::string>();
    const std::optional<RunTrigger> trigger =
        ParseRunTrigger(doc.at("trigger").get<std::string>());
    if (!trigger.has_value()) {
      return absl::InvalidArgumentError("unknown trigger");
    }
    in.request.trigger = *trigger;
    in.request.request_id = doc.at("request_id").get<std::string>();
    in.request.export_dir = doc.at("export_dir").get<std::string>();
    if (doc.contains("as_of_us")) {
      in.request.as_of = doc.at("as_of_us").get<int64_t>();
    }
    in.stage_delay_ms = doc.at("stage_delay_ms").get<int64_t>();
    in.parent_pid = doc.at("parent_pid").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return in;
}

int RunChild(const std::string& text) {
  const auto report = [](const absl::Status& status) {
    WriteAll(kProgressFd, ResultLine(status) + "\n");
    return status.ok() ? 0 : 1;
  };
  absl::StatusOr<ChildInput> in = ReadChildInput(text);
  if (!in.ok()) {
    return report(absl::InvalidArgumentError(
        absl::StrCat("the pipeline process's request on stdin is unreadable: ",
                     in.status().message())));
  }
  // The daemon may have died before the death signal was armed.
  if (::getppid() != in->parent_pid) {
    return report(absl::AbortedError("the daemon is gone"));
  }
  absl::StatusOr<Config> config =
      ParseConfig(in->config_json, "", "the daemon's configuration");
  if (!config.ok()) return report(config.status());
  StoreOptions store_options;
  store_options.keep_runs = config->store.keep_runs;
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(config->store.path, store_options);
  if (!store.ok()) return report(store.status());

  const absl::Duration delay = absl::Milliseconds(in->stage_delay_ms);
  const ProgressFn progress = [delay](const Progress& p) {
    WriteAll(kProgressFd, ProgressLine(p) + "\n");
    if (!p.done && delay > absl::ZeroDuration()) {
      const absl::Time until = absl::Now() + delay;
      while (absl::Now() < until && !child_cancel.load()) {
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
  };
  const absl::StatusOr<RunResult> result =
      RunPipeline(*config, store->get(), in->request, progress, &child_cancel);
  return report(result.status());
}

}  // namespace

PipelineFn ProcessPipeline(const Config& config,
                           PipelineProcessOptions options) {
  return
      [config_json = ConfigToJson(config),
       secret_env = config.service.api_keys_env, options = std::move(options)](
          Store* store, const RunRequest& request, const ProgressFn& progress,
          const std::atomic<bool>* cancel) -> absl::StatusOr<RunResult> {
        return ChildRun(config_json, secret_env, options, store, request,
                        progress, cancel)
            .Run();
      };
}

int PipelineChildMain() {
  if (::fcntl(kProgressFd, F_GETFD) < 0) {
    std::cerr << "winbackd --pipeline-child is how winbackd starts a run; it "
                 "reports on fd 3, which is not open here\n";
    return 2;
  }
  // Die with the daemon's pipeline thread: a run must not outlive the
  // daemon that owns it (a restarted daemon marks it failed).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // SIGTERM and SIGINT arrive blocked (see Spawn) and ask for a cancel.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int sig = 0;
    while (sigwait(&signals, &sig) == 0) {
      child_cancel.store(true);
    }
  }).detach();
  const std::string input(std::istreambuf_iterator<char>(std::cin), {});
  return RunChild(input);
}

}  // namespace winback
