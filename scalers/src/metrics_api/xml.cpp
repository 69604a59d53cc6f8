#include "metrics_api/xml.h"

#include <cctype>
#include <cstdint>

#include "ebb/strings.h"
#include "go_utf8.h"

namespace ebb::scalers::metrics_api {
namespace {

constexpr int kMaxDepth = 256;

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  Result<XmlElement> document() {
    if (auto r = misc(); !r) return unexpected(r.error());
    if (at_end() || s_[pos_] != '<') return error("expected the root element");
    auto root = element(0);
    if (!root) return root;
    if (auto r = misc(); !r) return unexpected(r.error());
    if (!at_end()) return error("content after the root element");
    return root;
  }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  bool starts(std::string_view p) const { return s_.substr(pos_).starts_with(p); }
  Unexpected<Error> error(const std::string& what) const {
    return fail(what + " at offset " + std::to_string(pos_));
  }
  void spaces() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool skip_past(std::string_view end) {
    const auto found = s_.find(end, pos_);
    if (found == std::string_view::npos) return false;
    pos_ = found + end.size();
    return true;
  }

  // Comments, processing instructions (the XML declaration) and a DOCTYPE around the root.
  Result<void> misc() {
    while (true) {
      spaces();
      if (starts("<?")) {
        if (!skip_past("?>")) return error("unterminated processing instruction");
      } else if (starts("<!--")) {
        if (!skip_past("-->")) return error("unterminated comment");
      } else if (starts("<!DOCTYPE")) {
        if (!skip_past(">")) return error("unterminated DOCTYPE");
      } else {
        return {};
      }
    }
  }

  std::string name() {
    const auto start = pos_;
    while (!at_end()) {
      const char c = s_[pos_];
      if (std::isspace(static_cast<unsigned char>(c)) || c == '>' || c == '/' || c == '=' ||
          c == '<')
        break;
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  Result<void> entity(std::string& out) {
    const auto end = s_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12)
      return error("unterminated entity reference");
    const std::string_view ref = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    if (ref == "lt")
      out += '<';
    else if (ref == "gt")
      out += '>';
    else if (ref == "amp")
      out += '&';
    else if (ref == "quot")
      out += '"';
    else if (ref == "apos")
      out += '\'';
    else if (ref.starts_with("#")) {
      const bool hex = ref.size() > 1 && (ref[1] == 'x' || ref[1] == 'X');
      const std::string digits(ref.substr(hex ? 2 : 1));
      char* stop = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &stop, hex ? 16 : 10);
      if (digits.empty() || *stop != '\0' || cp > 0x10FFFF) return error("bad character reference");
      append_utf8(out, static_cast<char32_t>(cp));
    } else {
      return error("unknown entity &" + std::string(ref) + ";");
    }
    return {};
  }

  Result<XmlElement> element(int depth) {
    if (depth > kMaxDepth) return error("elements nested too deeply");
    ++pos_;  // '<'
    XmlElement e;
    e.name = name();
    if (e.name.empty()) return error("expected an element name");
    // Attributes: name="value" or name='value', dropped.
    while (true) {
      spaces();
      if (at_end()) return error("unterminated start tag <" + e.name + ">");
      if (starts("/>")) {
        pos_ += 2;
        return e;
      }
      if (s_[pos_] == '>') {
        ++pos_;
        break;
      }
      if (name().empty()) return error("bad attribute in <" + e.name + ">");
      spaces();
      if (at_end() || s_[pos_] != '=')
        return error("attribute without a value in <" + e.name + ">");
      ++pos_;
      spaces();
      if (at_end() || (s_[pos_] != '"' && s_[pos_] != '\''))
        return error("unquoted attribute in <" + e.name + ">");
      const char quote = s_[pos_++];
      const auto close = s_.find(quote, pos_);
      if (close == std::string_view::npos)
        return error("unterminated attribute in <" + e.name + ">");
      pos_ = close + 1;
    }
    std::string text;
    while (true) {
      if (at_end()) return error("element <" + e.name + "> is not closed");
      if (starts("</")) {
        pos_ += 2;
        const std::string closing = name();
        spaces();
        if (closing != e.name || at_end() || s_[pos_] != '>')
          return error("expected </" + e.name + ">");
        ++pos_;
        break;
      }
      if (starts("<!--")) {
        if (!skip_past("-->")) return error("unterminated comment");
      } else if (starts("<![CDATA[")) {
        pos_ += 9;
        const auto end = s_.find("]]>", pos_);
        if (end == std::string_view::npos) return error("unterminated CDATA section");
        text += s_.substr(pos_, end - pos_);
        pos_ = end + 3;
      } else if (starts("<?")) {
        if (!skip_past("?>")) return error("unterminated processing instruction");
      } else if (s_[pos_] == '<') {
        auto child = element(depth + 1);
        if (!child) return child;
        e.children.push_back(std::move(*child));
      } else if (s_[pos_] == '&') {
        if (auto r = entity(text); !r) return unexpected(r.error());
      } else {
        text += s_[pos_++];
      }
    }
    e.text = std::string(trim(text));
    return e;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<XmlElement> parse_xml(std::string_view document) {
  return Reader(document).document();
}

}  // namespace ebb::scalers::metrics_api
