#include "jobs/ingest/literal.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace winback {

class Literal::Parser {
 public:
  // `error` may be null when the caller only wants a yes/no answer.
  Parser(Literal* lit, std::string_view text, std::string* error)
      : lit_(lit),
        p_(text.data()),
        begin_(text.data()),
        end_(text.data() + text.size()),
        error_(error) {}

  bool Run() {
    lit_->nodes_.clear();
    lit_->decoded_.clear();
    SkipSpace();
    if (!Value(0)) return false;
    SkipSpace();
    if (p_ != end_) return Fail("trailing text after the value");
    return true;
  }

 private:
  bool Fail(const char* what) {
    if (error_ != nullptr && error_->empty()) {
      *error_ =
          absl::StrCat("invalid literal at offset ", p_ - begin_, ": ", what);
    }
    return false;
  }

  void SkipSpace() {
    while (p_ != end_ &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) {
      ++p_;
    }
  }

  bool Match(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    // A keyword must not run on into an identifier (`Truex`).
    const char* after = p_ + word.size();
    if (after != end_ &&
        (std::isalnum(static_cast<unsigned char>(*after)) || *after == '_')) {
      return false;
    }
    p_ = after;
    return true;
  }

  NodeId AddNode(Kind kind) {
    lit_->nodes_.emplace_back();
    lit_->nodes_.back().kind = kind;
    return static_cast<NodeId>(lit_->nodes_.size() - 1);
  }

  bool Value(int depth) {
    if (p_ == end_) return Fail("unexpected end of text");
    switch (*p_) {
      case '{':
        return Container(depth, /*dict=*/true);
      case '[':
        return Container(depth, /*dict=*/false);
      case '\'':
      case '"':
        return String();
      case 'T':
      case 't':
        if (Match("True") || Match("true")) return Bool(true);
        return Fail("unknown word");
      case 'F':
      case 'f':
        if (Match("False") || Match("false")) return Bool(false);
        return Fail("unknown word");
      case 'N':
      case 'n':
        if (Match("None") || Match("null")) {
          AddNode(Kind::kNone);
          return true;
        }
        return Fail("unknown word");
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return Number();
        return Fail("unexpected character");
    }
  }

  bool Bool(bool v) {
    lit_->nodes_[AddNode(Kind::kBool)].i = v ? 1 : 0;
    return true;
  }

  bool Container(int depth, bool dict) {
    if (depth >= kMaxDepth) return Fail("nesting too deep");
    const char close = dict ? '}' : ']';
    const NodeId self = AddNode(dict ? Kind::kDict : Kind::kList);
    ++p_;
    uint32_t count = 0;
    SkipSpace();
    while (true) {
      if (p_ == end_) return Fail(dict ? "unclosed '{'" : "unclosed '['");
      if (*p_ == close) {
        ++p_;
        break;
      }
      if (dict) {
        if (*p_ != '\'' && *p_ != '"') return Fail("expected a string key");
        if (!String()) return false;
        SkipSpace();
        if (p_ == end_ || *p_ != ':') return Fail("expected ':'");
        ++p_;
        SkipSpace();
      }
      if (!Value(depth + 1)) return false;
      ++count;
      SkipSpace();
      if (p_ == end_) return Fail(dict ? "unclosed '{'" : "unclosed '['");
      if (*p_ == ',') {
        ++p_;
        SkipSpace();
      } else if (*p_ != close) {
        return Fail(dict ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    Node& node = lit_->nodes_[self];
    node.count = count;
    node.span = static_cast<uint32_t>(lit_->nodes_.size() - self);
    return true;
  }

  bool Number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    const char* digits = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == digits) return Fail("expected digits");
    if (p_ - digits > 1 && *digits == '0') return Fail("leading zero");
    bool is_float = false;
    if (p_ != end_ && *p_ == '.') {
      is_float = true;
      ++p_;
      const char* frac = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == frac) return Fail("expected digits after '.'");
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_float = true;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* exp = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == exp) return Fail("expected exponent digits");
    }
    if (!is_float) {
      int64_t v = 0;
      const auto r = std::from_chars(start, p_, v);
      if (r.ec == std::errc() && r.ptr == p_) {
        lit_->nodes_[AddNode(Kind::kInt)].i = v;
        return true;
      }
      // Out of int64 range: keep it as a float, like JSON readers do.
    }
    double f = 0;
    const auto r = std::from_chars(start, p_, f);
    if (r.ptr != p_) return Fail("malformed number");
    lit_->nodes_[AddNode(Kind::kFloat)].f = f;
    return true;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool ReadHex(int n, uint32_t* out) {
    if (end_ - p_ < n) return Fail("truncated escape");
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      const int h = Hex(p_[i]);
      if (h < 0) return Fail("bad hex digit in escape");
      v = (v << 4) | static_cast<uint32_t>(h);
    }
    p_ += n;
    *out = v;
    return true;
  }

  void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool String() {
    const char quote = *p_++;
    const char* start = p_;
    // Fast path: no escapes, the value is a view of the input.
    while (p_ != end_ && *p_ != quote && *p_ != '\\' && *p_ != '\n') ++p_;
    if (p_ == end_ || *p_ == '\n') return Fail("unterminated string");
    if (*p_ == quote) {
      Node& node = lit_->nodes_[AddNode(Kind::kString)];
      node.data = start;
      node.len = static_cast<uint32_t>(p_ - start);
      ++p_;
      return true;
    }
    // Slow path: decode into decoded_.
    std::string& out = lit_->decoded_;
    const size_t offset = out.size();
    out.append(start, p_);
    while (true) {
      if (p_ == end_ || *p_ == '\n') return Fail("unterminated string");
      const char c = *p_;
      if (c == quote) {
        ++p_;
        break;
      }
      if (c != '\\') {
        out.push_back(c);
        ++p_;
        continue;
      }
      ++p_;
      if (p_ == end_) return Fail("unterminated string");
      const char e = *p_++;
      uint32_t cp = 0;
      switch (e) {
        case '\\':
          out.push_back('\\');
          break;
        case '\'':
          out.push_back('\'');
          break;
        case '"':
          out.push_back('"');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'x':
          if (!ReadHex(2, &cp)) return false;
          AppendUtf8(cp, &out);
          break;
        case 'u':
          if (!ReadHex(4, &cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' &&
              p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            uint32_t low = 0;
            if (!ReadHex(4, &low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              p_ = save;
            }
          }
          AppendUtf8(cp, &out);
          break;
        case 'U':
          if (!ReadHex(8, &cp)) return false;
          if (cp > 0x10FFFF) return Fail("code point out of range");
          AppendUtf8(cp, &out);
          break;
        default:
          --p_;
          return Fail("unknown escape");
      }
    }
    Node& node = lit_->nodes_[AddNode(Kind::kString)];
    node.decoded = true;
    node.i = static_cast<int64_t>(offset);
    node.len = static_cast<uint32_t>(out.size() - offset);
    return true;
  }

  Literal* lit_;
  const char* p_;
  const char* const begin_;
  const char* const end_;
  std::string* const error_;
};

absl::Status Literal::Parse(std::string_view text) {
  std::string error;
  Parser parser(this, text, &error);
  if (!parser.Run()) {
    nodes_.clear();
    return absl::InvalidArgumentError(error);
  }
  return absl::OkStatus();
}

bool Literal::TryParse(std::string_view text) {
  Parser parser(this, text, nullptr);
  if (!parser.Run()) {
    nodes_.clear();
    return false;
  }
  return true;
}

std::string_view Literal::string_value(NodeId n) const {
  const Node& node = nodes_[n];
  if (node.decoded) {
    return std::string_view(decoded_).substr(static_cast<size_t>(node.i),
                                             node.len);
  }
  return std::string_view(node.data, node.len);
}

std::optional<Literal::NodeId> Literal::Find(NodeId dict,
                                             std::string_view key) const {
  if (nodes_[dict].kind != Kind::kDict) return std::nullopt;
  std::optional<NodeId> found;
  NodeId k = dict + 1;
  for (uint32_t i = 0; i < nodes_[dict].count; ++i) {
    const NodeId v = k + 1;  // keys are strings: one node each
    if (string_value(k) == key) found = v;
    k = Next(v);
  }
  return found;
}

std::optional<int64_t> Literal::FindInt(NodeId dict,
                                        std::string_view key) const {
  const std::optional<NodeId> v = Find(dict, key);
  if (!v.has_value() || kind(*v) != Kind::kInt) return std::nullopt;
  return int_value(*v);
}

std::optional<std::string_view> Literal::FindString(
    NodeId dict, std::string_view key) const {
  const std::optional<NodeId> v = Find(dict, key);
  if (!v.has_value() || kind(*v) != Kind::kString) return std::nullopt;
  return string_value(*v);
}

namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void Literal::AppendJson(NodeId n, std::string* out) const {
  const Node& node = nodes_[n];
  switch (node.kind) {
    case Kind::kNone:
      out->append("null");
      return;
    case Kind::kBool:
      out->append(node.i != 0 ? "true" : "false");
      return;
    case Kind::kInt:
      absl::StrAppend(out, node.i);
      return;
    case Kind::kFloat: {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof(buf), node.f);
      out->append(buf, r.ptr);
      return;
    }
    case Kind::kString:
      AppendJsonString(string_value(n), out);
      return;
    case Kind::kList:
    case Kind::kDict: {
      const bool dict = node.kind == Kind::kDict;
      out->push_back(dict ? '{' : '[');
      NodeId c = n + 1;
      for (uint32_t i = 0; i < node.count; ++i) {
        if (i > 0) out->push_back(',');
        if (dict) {
          AppendJson(c, out);
          out->push_back(':');
          c = Next(c);
        }
        AppendJson(c, out);
        c = Next(c);
      }
      out->push_back(dict ? '}' : ']');
      return;
    }
  }
}

std::string Literal::ToJson(NodeId n) const {
  std::string out;
  if (!nodes_.empty()) AppendJson(n, &out);
  return out;
}

}  // namespace winback
