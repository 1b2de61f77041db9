#include "server/config_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <sstream>

namespace server {

// Builds a ConfigTree from the parser's events. The children of the containers still open
// wait on one stack; a container's are moved to the tree's array when it ends, so that each
// container's children lie side by side.
class ConfigTreeBuilder : public YAML::EventHandler {
 public:
  explicit ConfigTreeBuilder(ConfigTree& t) : t_(t) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override {
    attach(node(ConfigTree::Kind::null, m, a));
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
    if (a >= anchors_.size() || anchors_[a] == ConfigTree::kNone)
      throw ConfigSyntaxError{m.line + 1, "alias of an unknown anchor"};
    attach(anchors_[a]);
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                const std::string& value) override {
    uint32_t i = node(ConfigTree::Kind::scalar, m, a);
    t_.nodes_[i].begin = static_cast<uint32_t>(t_.text_.size());
    t_.nodes_[i].count = static_cast<uint32_t>(value.size());
    t_.text_ += value;
    attach(i);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                       YAML::EmitterStyle::value) override {
    open(ConfigTree::Kind::sequence, m, a);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                  YAML::EmitterStyle::value) override {
    open(ConfigTree::Kind::map, m, a);
  }
  void OnMapEnd() override { close(); }

 private:
  uint32_t node(ConfigTree::Kind k, const YAML::Mark& m, YAML::anchor_t a) {
    if (t_.nodes_.size() >= ConfigTree::kNone - 1)
      throw ConfigSyntaxError{m.line + 1, "too many nodes"};
    auto i = static_cast<uint32_t>(t_.nodes_.size());
    t_.nodes_.push_back({k, m.line + 1, 0, 0});
    if (a != YAML::NullAnchor) {
      if (anchors_.size() <= a) anchors_.resize(a + 1, ConfigTree::kNone);
      anchors_[a] = i;
    }
    return i;
  }
  void attach(uint32_t i) {
    if (open_.empty()) {
      if (t_.root_ == ConfigTree::kNone) t_.root_ = i;
    } else {
      waiting_.push_back(i);
    }
  }
  void open(ConfigTree::Kind k, const YAML::Mark& m, YAML::anchor_t a) {
    open_.push_back({node(k, m, a), waiting_.size()});
  }
  void close() {
    auto [i, first] = open_.back();
    open_.pop_back();
    auto& e = t_.nodes_[i];
    e.begin = static_cast<uint32_t>(t_.kids_.size());
    e.count = static_cast<uint32_t>(waiting_.size() - first);
    t_.kids_.insert(t_.kids_.end(), waiting_.begin() + static_cast<std::ptrdiff_t>(first),
                    waiting_.end());
    waiting_.resize(first);
    attach(i);
  }

  ConfigTree& t_;
  std::vector<uint32_t> anchors_;
  std::vector<std::pair<uint32_t, size_t>> open_;  // container, where its children start
  std::vector<uint32_t> waiting_;
};

std::unique_ptr<ConfigTree> ConfigTree::parse(const std::string& text) {
  auto t = std::make_unique<ConfigTree>();
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    ConfigTreeBuilder b(*t);
    parser.HandleNextDocument(b);
  } catch (const YAML::Exception& e) {
    throw ConfigSyntaxError{e.mark.line + 1, e.msg};
  }
  t->nodes_.shrink_to_fit();
  t->kids_.shrink_to_fit();
  t->text_.shrink_to_fit();
  return t;
}

bool ConfigNode::IsNull() const {
  return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::null;
}
bool ConfigNode::IsScalar() const {
  return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::scalar;
}
bool ConfigNode::IsSequence() const {
  return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::sequence;
}
bool ConfigNode::IsMap() const {
  return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::map;
}
int ConfigNode::line() const { return tree_ ? tree_->nodes_[index_].line : 0; }

std::string_view ConfigNode::scalar() const {
  if (!IsScalar()) return {};
  const auto& e = tree_->nodes_[index_];
  return std::string_view(tree_->text_).substr(e.begin, e.count);
}

size_t ConfigNode::size() const {
  if (IsSequence()) return tree_->nodes_[index_].count;
  if (IsMap()) return tree_->nodes_[index_].count / 2;
  return 0;
}

ConfigNode ConfigNode::at(size_t i) const {
  if (!IsSequence() || i >= size()) return {};
  return {tree_, tree_->kids_[tree_->nodes_[index_].begin + i]};
}

ConfigNode ConfigNode::key(size_t i) const {
  if (!IsMap() || i >= size()) return {};
  return {tree_, tree_->kids_[tree_->nodes_[index_].begin + 2 * i]};
}

ConfigNode ConfigNode::value(size_t i) const {
  if (!IsMap() || i >= size()) return {};
  return {tree_, tree_->kids_[tree_->nodes_[index_].begin + 2 * i + 1]};
}

ConfigNode ConfigNode::operator[](std::string_view k) const {
  if (!IsMap()) return {};
  for (size_t i = 0, n = size(); i < n; ++i)
    if (ConfigNode kn = key(i); kn.IsScalar() && kn.scalar() == k) return value(i);
  return {};
}

}  // namespace server
