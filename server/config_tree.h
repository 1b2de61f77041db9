// The configuration file as a tree of YAML nodes, read by yaml-cpp's parser into a compact
// arena of our own: every node in one array, every scalar in one string, a line number per
// node for error messages.
//
// yaml-cpp's own tree (YAML::Load) allocates each node, each scalar and each container apart
// and keeps a std::set of all of them: for 10,000 zones it took as long again as parsing the
// text, and for 100,000 zones it stopped growing linearly (0.55 GB at its peak). Only what the
// configuration reader needs is here: scalars, null, sequences, mappings (keys kept in the
// order written, duplicates included) and aliases of anchored nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace server {

class ConfigTree;

// A node of a ConfigTree, or no node at all (an absent key): false in a test. Valid as long as
// its tree.
class ConfigNode {
 public:
  ConfigNode() = default;

  explicit operator bool() const { return tree_ != nullptr; }
  bool IsDefined() const { return tree_ != nullptr; }
  bool IsNull() const;
  bool IsScalar() const;
  bool IsSequence() const;
  bool IsMap() const;
  // Line in the file, from 1; 0 for no node.
  int line() const;

  // A scalar's text ("" for anything else).
  std::string_view scalar() const;
  std::string as_string() const { return std::string(scalar()); }

  // Elements of a sequence, or entries of a mapping (with keys() / values()).
  size_t size() const;
  ConfigNode at(size_t i) const;     // element i of a sequence
  ConfigNode key(size_t i) const;    // key of a mapping's entry i
  ConfigNode value(size_t i) const;  // value of a mapping's entry i
  // The value at `k` of a mapping (the first entry with that key), or no node.
  ConfigNode operator[](std::string_view k) const;

  // A sequence's elements in a range-for.
  class Iterator {
   public:
    Iterator(const ConfigNode* n, size_t i) : n_(n), i_(i) {}
    ConfigNode operator*() const { return n_->at(i_); }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const ConfigNode* n_;
    size_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, IsSequence() ? size() : 0}; }

 private:
  friend class ConfigTree;
  ConfigNode(const ConfigTree* t, uint32_t i) : tree_(t), index_(i) {}
  const ConfigTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

// Thrown for text that is not YAML, with the line (from 1) where the parser stopped.
struct ConfigSyntaxError {
  int line;
  std::string message;
};

class ConfigTree {
 public:
  // The first document of `text`; throws ConfigSyntaxError. An empty text gives a tree whose
  // root is no node.
  static std::unique_ptr<ConfigTree> parse(const std::string& text);

  ConfigNode root() const { return root_ == kNone ? ConfigNode() : ConfigNode(this, root_); }

 private:
  friend class ConfigNode;
  friend class ConfigTreeBuilder;
  static constexpr uint32_t kNone = UINT32_MAX;
  enum class Kind : uint8_t { null, scalar, sequence, map };
  struct Entry {
    Kind kind = Kind::null;
    int line = 0;
    // A scalar: its text in text_. A container: its children in kids_ (a mapping's as key,
    // value, key, value...).
    uint32_t begin = 0, count = 0;
  };
  std::vector<Entry> nodes_;
  std::vector<uint32_t> kids_;
  std::string text_;
  uint32_t root_ = kNone;
};

}  // namespace server
