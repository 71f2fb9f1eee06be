// A parser for the metadata literals in the export: Python literals as
// printed by repr() (`{'product_id': 54728, 'quantity': 1}`, `"Men's"`,
// True/False/None) and plain JSON (`{"a": true, "b": null}`).
//
// The parser is built for a hot loop: a Literal object is reused across rows
// and, once its buffers have grown to the largest input seen, parsing does no
// heap allocation. Strings without escapes are views into the input text.
#ifndef WINBACK_JOBS_INGEST_LITERAL_H_
#define WINBACK_JOBS_INGEST_LITERAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace winback {

// One parsed literal, stored as a flat pre-order array of nodes. Node 0 is
// the root. A container's children follow it; a dict's children alternate
// key, value. Node ids are only meaningful until the next Parse().
//
// Accepted grammar (a union of Python literal syntax and JSON):
//   value  := dict | list | string | number | True | False | None
//             | true | false | null
//   dict   := '{' [ string ':' value (',' string ':' value)* [','] ] '}'
//   list   := '[' [ value (',' value)* [','] ] ']'
//   string := '...' or "..." with backslash escapes \\ \' \" \n \r \t \b \f
//             \/ \xHH \uHHHH (JSON surrogate pairs are joined) \UHHHHHHHH
//   number := -?digits (no leading zeros), an int when it has no '.', 'e' or
//   'E' and fits in
//             int64; otherwise a float (digits required before and after '.')
// Whitespace (space, tab, CR, LF) may surround any token. Dict keys must be
// strings. Anything else, including trailing text after the value, an
// unknown escape, a raw newline inside a string or nesting deeper than
// kMaxDepth, is rejected.
class Literal {
 public:
  enum class Kind : uint8_t {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict
  };
  using NodeId = uint32_t;
  static constexpr int kMaxDepth = 64;

  Literal() = default;

  // Parses `text`. On success the tree is available through the accessors
  // below, with views that may point into `text` (which must outlive their
  // use). On failure returns InvalidArgument with the byte offset and the
  // problem, and the tree is empty.
  absl::Status Parse(std::string_view text);

  // Like Parse but only says whether `text` is valid; no message is built.
  bool TryParse(std::string_view text);

  NodeId root() const { return 0; }
  bool empty() const { return nodes_.empty(); }

  Kind kind(NodeId n) const { return nodes_[n].kind; }
  bool bool_value(NodeId n) const { return nodes_[n].i != 0; }
  int64_t int_value(NodeId n) const { return nodes_[n].i; }
  double float_value(NodeId n) const { return nodes_[n].f; }
  std::string_view string_value(NodeId n) const;

  // Elements of a list, or key-value pairs of a dict; 0 for scalars.
  uint32_t size(NodeId n) const { return nodes_[n].count; }
  // The first child of a non-empty container.
  NodeId FirstChild(NodeId n) const { return n + 1; }
  // The node after `n`'s subtree: its next sibling when it has one.
  NodeId Next(NodeId n) const { return n + nodes_[n].span; }

  // The value stored under `key` in dict `dict`; nullopt when absent (or
  // when `dict` is not a dict). With duplicate keys the last one wins, as in
  // Python.
  std::optional<NodeId> Find(NodeId dict, std::string_view key) const;

  // Convenience lookups: the value under `key` when present and of the
  // given type.
  std::optional<int64_t> FindInt(NodeId dict, std::string_view key) const;
  std::optional<std::string_view> FindString(NodeId dict,
                                             std::string_view key) const;

  // Compact JSON text of the subtree at `n` (keys in input order), for tests
  // and messages. Floats use the shortest round-trip form.
  std::string ToJson(NodeId n) const;

 private:
  struct Node {
    Kind kind = Kind::kNone;
    bool decoded = false;  // string bytes live in decoded_, not the input
    uint32_t count = 0;
    uint32_t span = 1;           // nodes in this subtree, itself included
    int64_t i = 0;               // int / bool value; string offset
    double f = 0;                // float value
    uint32_t len = 0;            // string length
    const char* data = nullptr;  // string bytes when !decoded
  };

  class Parser;
  void AppendJson(NodeId n, std::string* out) const;

  std::vector<Node> nodes_;
  std::string decoded_;  // unescaped string bytes
};

}  // namespace winback

#endif  // WINBACK_JOBS_INGEST_LITERAL_H_
