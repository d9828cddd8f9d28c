// Loading a market registry: YAML -> JSON (yaml_json.cpp), schema validation against
// schemas/registry.schema.json, consistency checks, merge with the default channel table, and the
// normalised JSON document the rules read as fg.data.registry (docs/registry.md).
#include "flowguard/registry/registry.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "flowguard/json/document.hpp"
#include "flowguard/json/writer.hpp"
#include "flowguard/schema/validator.hpp"
#include "yaml_json.hpp"

namespace flowguard::registry {

std::string Diagnostic::to_string() const {
  std::string out = file.string();
  if (line) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out + ": " + message;
}

namespace {

namespace fs = std::filesystem;
using detail::Mark;
using detail::YamlJson;

// Open-ended windows end here (10000-01-01T00:00:00Z, past any 9999-12-31).
constexpr std::int64_t kForever = 253402300800;

struct Window {
  std::string from_text, to_text;  // as written; to_text empty when open-ended
  std::int64_t from = 0, to = kForever;  // UTC seconds; `to` exclusive
};

struct Nomination {
  std::string dip_id;
  Window window;
  std::string pointer;
};

struct Participant {
  std::string dip_id, dip_role, mpid, mp_role, organisation;
  Window window;
  std::vector<Nomination> dcp;
  std::string pointer;
};

struct Channel {
  std::string name;
  std::vector<std::string> ingress, egress, event_codes;
  bool roles_unknown = false;
  std::string source, origin;
};

struct CatalogueEntry {
  std::string interface, event_code, source;
  std::vector<std::string> roles;
  std::string pointer;
};

struct OptOut {
  std::string dip_id, interface, event_code;
  Window window;
  std::string pointer;
};

struct Pairing {
  std::string sds, mdr;
  Window window;
  std::string pointer;
};

struct Model {
  bool complete = false;
  std::string description;
  std::vector<Participant> participants;
  std::map<std::string, Channel> channels;
  bool has_channels = false;
  std::vector<CatalogueEntry> catalogue;
  std::vector<OptOut> opt_outs;
  std::vector<Pairing> pairings;
};

std::string str(const json::Value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); }

std::vector<std::string> strings(const json::Value* v) {
  std::vector<std::string> out;
  if (v && v->is_array())
    for (const auto& item : v->items())
      if (item.is_string()) out.emplace_back(item.as_string());
  return out;
}

std::string bracketed(std::string code) {
  if (code.empty()) return code;
  if (code.front() != '[') code.insert(code.begin(), '[');
  if (code.back() != ']') code.push_back(']');
  return code;
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view s) {
  return std::find(items.begin(), items.end(), s) != items.end();
}

// One source file being checked.
class Checker {
 public:
  Checker(fs::path file, const YamlJson& yj, std::vector<Diagnostic>& errors)
      : file_(std::move(file)), yj_(yj), errors_(errors) {}

  void error(const std::string& pointer, std::string message) {
    const Mark m = yj_.at_pointer(pointer);
    errors_.push_back({file_, m.line, m.column, std::move(message)});
  }
  std::uint32_t line_of(const std::string& pointer) const { return yj_.at_pointer(pointer).line; }

  Window window(const json::Value& object, const std::string& pointer, std::string_view what) {
    const std::string prefix = what.empty() ? std::string() : std::string(what) + ": ";
    Window w;
    w.from_text = str(object.find("effective_from"));
    w.to_text = str(object.find("effective_to"));
    const auto from = parse_instant(w.from_text);
    if (from) w.from = *from;
    else if (!w.from_text.empty())
      error(pointer + "/effective_from", prefix + "effective_from \"" + w.from_text +
                                             "\" is not a real date or time, expected a day and time that exist");
    if (!w.to_text.empty()) {
      const auto end = parse_window_end(w.to_text);
      const auto to = parse_instant(w.to_text);
      if (!end || !to) {
        error(pointer + "/effective_to", prefix + "effective_to \"" + w.to_text +
                                             "\" is not a real date or time, expected a day and time that exist");
      } else {
        w.to = *end;
        if (from && *to < *from)
          error(pointer + "/effective_to", prefix + "effective_to " + w.to_text + " is before effective_from " +
                                               w.from_text + ", expected effective_from on or before effective_to");
      }
    }
    return w;
  }

  Model read(const json::Value& root) {
    Model m;
    if (const auto* c = root.find("complete")) m.complete = c->as_bool();
    m.description = str(root.find("description"));
    if (const auto* ps = root.find("participants"); ps && ps->is_array()) {
      std::size_t i = 0;
      for (const auto& p : ps->items()) {
        Participant part;
        part.pointer = "/participants/" + std::to_string(i++);
        part.dip_id = str(p.find("dip_id"));
        part.dip_role = str(p.find("dip_role"));
        part.mpid = str(p.find("mpid"));
        part.mp_role = str(p.find("mp_role"));
        part.organisation = str(p.find("organisation"));
        part.window = window(p, part.pointer, "DIP ID " + part.dip_id);
        if (const auto* dcp = p.find("dcp"); dcp && !dcp->is_null()) {
          auto add = [&](const json::Value& n, const std::string& ptr) {
            Nomination nom;
            nom.pointer = ptr;
            nom.dip_id = str(n.find("dip_id"));
            nom.window = window(n, ptr, "DCP nomination of DIP ID " + part.dip_id);
            part.dcp.push_back(std::move(nom));
          };
          if (dcp->is_array()) {
            std::size_t k = 0;
            for (const auto& n : dcp->items()) add(n, part.pointer + "/dcp/" + std::to_string(k++));
          } else {
            add(*dcp, part.pointer + "/dcp");
          }
        }
        m.participants.push_back(std::move(part));
      }
    }
    if (const auto* cs = root.find("channels"); cs && cs->is_object()) {
      m.has_channels = true;
      for (const auto& member : cs->members()) {
        Channel ch;
        ch.name = str(member.value.find("name"));
        ch.ingress = strings(member.value.find("ingress"));
        ch.egress = strings(member.value.find("egress"));
        for (auto& e : strings(member.value.find("event_codes"))) ch.event_codes.push_back(bracketed(std::move(e)));
        if (const auto* u = member.value.find("roles_unknown")) ch.roles_unknown = u->as_bool();
        ch.source = str(member.value.find("source"));
        m.channels[std::string(member.key)] = std::move(ch);
      }
    }
    if (const auto* cat = root.find("opt_out_catalogue"); cat && cat->is_array()) {
      std::size_t i = 0;
      for (const auto& e : cat->items()) {
        CatalogueEntry entry;
        entry.pointer = "/opt_out_catalogue/" + std::to_string(i++);
        entry.interface = str(e.find("interface"));
        entry.event_code = bracketed(str(e.find("event_code")));
        entry.roles = strings(e.find("roles"));
        entry.source = str(e.find("source"));
        m.catalogue.push_back(std::move(entry));
      }
    }
    if (const auto* os = root.find("opt_outs"); os && os->is_array()) {
      std::size_t i = 0;
      for (const auto& o : os->items()) {
        OptOut opt;
        opt.pointer = "/opt_outs/" + std::to_string(i++);
        opt.dip_id = str(o.find("dip_id"));
        opt.interface = str(o.find("interface"));
        opt.event_code = bracketed(str(o.find("event_code")));
        opt.window = window(o, opt.pointer, "opt-out of DIP ID " + opt.dip_id);
        m.opt_outs.push_back(std::move(opt));
      }
    }
    if (const auto* ps = root.find("pairings"); ps && ps->is_array()) {
      std::size_t i = 0;
      for (const auto& p : ps->items()) {
        Pairing pair;
        pair.pointer = "/pairings/" + std::to_string(i++);
        pair.sds = str(p.find("sds"));
        pair.mdr = str(p.find("mdr"));
        pair.window = window(p, pair.pointer, "pairing of SDS " + pair.sds + " with MDR " + pair.mdr);
        m.pairings.push_back(std::move(pair));
      }
    }
    return m;
  }

  // Consistency of one registry file, with `channels` already merged.
  void check(const Model& m) {
    std::map<std::string, const Participant*> by_id;
    for (const auto& p : m.participants) {
      auto [it, fresh] = by_id.emplace(p.dip_id, &p);
      if (!fresh)
        error(p.pointer + "/dip_id", "DIP ID " + p.dip_id + " is listed twice (first at line " +
                                         std::to_string(line_of(it->second->pointer + "/dip_id")) +
                                         "), expected each DIP ID once");
    }
    auto role_of = [&](const std::string& id) -> const Participant* {
      auto it = by_id.find(id);
      return it == by_id.end() ? nullptr : it->second;
    };

    // DCP nominations: a DCP participant, one-to-one, no overlapping windows per DIP ID.
    std::map<std::string, std::string> nominated_for;  // DCP DIP ID -> the DIP ID it serves
    for (const auto& p : m.participants) {
      for (std::size_t i = 0; i < p.dcp.size(); ++i) {
        const auto& n = p.dcp[i];
        const Participant* dcp = role_of(n.dip_id);
        if (!dcp)
          error(n.pointer + "/dip_id", "DCP DIP ID " + n.dip_id + " nominated for DIP ID " + p.dip_id +
                                           " is not a participant, expected the DIP ID of a participant with DIP role code DCP");
        else if (dcp->dip_role != "DCP")
          error(n.pointer + "/dip_id", "DCP DIP ID " + n.dip_id + " nominated for DIP ID " + p.dip_id + " has DIP role code " +
                                           dcp->dip_role + ", expected the DIP ID of a participant with DIP role code DCP");
        auto [it, fresh] = nominated_for.emplace(n.dip_id, p.dip_id);
        if (!fresh && it->second != p.dip_id)
          error(n.pointer + "/dip_id", "DCP DIP ID " + n.dip_id + " is nominated for DIP ID " + p.dip_id +
                                           " and for DIP ID " + it->second +
                                           ", expected a DCP DIP ID to serve one DIP ID only (they map one-to-one)");
        for (std::size_t k = 0; k < i; ++k) {
          const auto& o = p.dcp[k];
          if (n.window.from < o.window.to && o.window.from < n.window.to)
            error(n.pointer, "DCP nominations of DIP ID " + p.dip_id + " overlap (" + o.dip_id + " at line " +
                                 std::to_string(line_of(o.pointer)) + " and " + n.dip_id +
                                 "), expected one nominated DCP at any time");
        }
      }
    }

    // Opt-out catalogue.
    std::map<std::pair<std::string, std::string>, const CatalogueEntry*> catalogue;
    for (const auto& e : m.catalogue) {
      auto [it, fresh] = catalogue.emplace(std::make_pair(e.interface, e.event_code), &e);
      if (!fresh)
        error(e.pointer, "the opt-out catalogue lists " + e.interface + " " + e.event_code + " twice (first at line " +
                             std::to_string(line_of(it->second->pointer)) +
                             "), expected one entry per interface and event code");
    }

    // Opt-out preferences.
    std::map<std::tuple<std::string, std::string, std::string>, const OptOut*> prefs;
    for (const auto& o : m.opt_outs) {
      const std::string what = "opt-out of DIP ID " + o.dip_id + " on " + o.interface + " " + o.event_code;
      auto [it, fresh] = prefs.emplace(std::make_tuple(o.dip_id, o.interface, o.event_code), &o);
      if (!fresh) {
        error(o.pointer, "a second " + what + " (first at line " + std::to_string(line_of(it->second->pointer)) +
                             "), expected at most one opt-out preference per DIP ID, interface and event code");
        continue;
      }
      auto ch = m.channels.find(o.interface);
      if (ch == m.channels.end()) {
        error(o.pointer + "/interface", what + ": interface " + o.interface +
                                            " has no message channel, expected an interface of the channel table");
      } else if (!ch->second.event_codes.empty() && !contains(ch->second.event_codes, o.event_code)) {
        error(o.pointer + "/event_code", what + ": " + o.interface + " has no event code " + o.event_code +
                                             ", expected one of " + join(ch->second.event_codes));
        continue;
      }
      const Participant* p = role_of(o.dip_id);
      if (!p) {
        error(o.pointer + "/dip_id", what + ": DIP ID " + o.dip_id +
                                         " is not a participant, expected a listed DIP ID (its role code decides whether it may opt out)");
        continue;
      }
      auto entry = catalogue.find({o.interface, o.event_code});
      if (entry == catalogue.end())
        error(o.pointer, what + " is forbidden by the opt-out catalogue: it has no entry for " + o.interface + " " +
                             o.event_code + ", so no role code may opt out of it; expected an opt-out the catalogue allows");
      else if (!contains(entry->second->roles, p->dip_role))
        error(o.pointer, what + " is forbidden by the opt-out catalogue: DIP role code " + p->dip_role +
                             " may not opt out of " + o.event_code + " on " + o.interface + " (line " +
                             std::to_string(line_of(entry->second->pointer)) + " allows " + join(entry->second->roles) +
                             "), expected a role code the catalogue allows");
    }

    // Pairings.
    std::map<std::pair<std::string, std::string>, const Pairing*> pairs;
    for (const auto& pr : m.pairings) {
      const Participant* sds = role_of(pr.sds);
      const Participant* mdr = role_of(pr.mdr);
      if (!sds)
        error(pr.pointer + "/sds", "pairing: SDS DIP ID " + pr.sds + " is not a participant, expected the DIP ID of a participant with DIP role code SDS");
      else if (sds->dip_role != "SDS")
        error(pr.pointer + "/sds", "pairing: DIP ID " + pr.sds + " has DIP role code " + sds->dip_role +
                                       ", expected the DIP ID of a participant with DIP role code SDS");
      if (!mdr)
        error(pr.pointer + "/mdr", "pairing: MDR DIP ID " + pr.mdr + " is not a participant, expected the DIP ID of a participant with DIP role code MDR");
      else if (mdr->dip_role != "MDR")
        error(pr.pointer + "/mdr", "pairing: DIP ID " + pr.mdr + " has DIP role code " + mdr->dip_role +
                                       ", expected the DIP ID of a participant with DIP role code MDR");
      auto [it, fresh] = pairs.emplace(std::make_pair(pr.sds, pr.mdr), &pr);
      if (!fresh)
        error(pr.pointer, "SDS " + pr.sds + " is paired with MDR " + pr.mdr + " twice (first at line " +
                              std::to_string(line_of(it->second->pointer)) +
                              "), expected one pairing per SDS and MDR (a new pairing overwrites the old one)");
    }
  }

 private:
  fs::path file_;
  const YamlJson& yj_;
  std::vector<Diagnostic>& errors_;
};

// Reads, converts and schema-validates one YAML file. False when it has errors.
struct Parsed {
  YamlJson yj;
  json::Document doc;
};

bool read_file(const fs::path& file, const schema::CompiledSchema& schema, Parsed& out, std::vector<Diagnostic>& errors) {
  out.yj = detail::yaml_to_json(file);
  if (!out.yj.errors.empty()) {
    errors.insert(errors.end(), out.yj.errors.begin(), out.yj.errors.end());
    return false;
  }
  json::ParseError pe;
  if (!json::Document::parse(out.yj.text, out.doc, pe)) {
    errors.push_back({file, 0, 0, "internal: the YAML did not convert to JSON (" + pe.message + ")"});
    return false;
  }
  std::vector<schema::Violation> violations;
  schema.validate(out.doc.root(), "", violations, 200);
  for (const auto& v : violations) {
    Mark m = out.yj.at_offset(v.offset);
    if (!m.line) m = out.yj.at_pointer(v.pointer);
    errors.push_back({file, m.line, m.column, v.message});
  }
  return violations.empty();
}

// The normalised JSON the rules read: core/json's writer, with the registry's own shapes.
class JsonOut {
 public:
  JsonOut() = default;
  JsonOut(const JsonOut&) = delete;  // the writer appends to this object's text
  JsonOut& operator=(const JsonOut&) = delete;

  std::string text;
  void key(std::string_view k) { w_.key(k); }
  void open(char c) { c == '{' ? w_.begin_object() : w_.begin_array(); }
  void close(char c) { c == '}' ? w_.end_object() : w_.end_array(); }
  void string(std::string_view s) { w_.string(s); }
  void number(std::int64_t n) { w_.number(n); }
  void boolean(bool b) { w_.boolean(b); }
  void strings(const std::vector<std::string>& items) {
    open('[');
    for (const auto& s : items) string(s);
    close(']');
  }
  void field(std::string_view k, std::string_view v) { key(k); string(v); }
  void window(const Window& w) {
    field("effective_from", w.from_text);
    if (!w.to_text.empty()) field("effective_to", w.to_text);
    key("from");
    number(w.from);
    key("to");
    number(w.to);
  }

 private:
  json::Writer w_{text};
};

std::string normalise(const Model& m, const fs::path& file, const fs::path& default_channels) {
  JsonOut o;
  o.open('{');
  o.field("format", "flowguard-registry/1");
  o.field("source", file.string());
  if (!default_channels.empty()) o.field("default_channels", default_channels.string());
  o.key("complete");
  o.boolean(m.complete);

  o.key("participants");
  o.open('{');
  for (const auto& p : m.participants) {
    o.key(p.dip_id);
    o.open('{');
    o.field("dip_id", p.dip_id);
    o.field("dip_role", p.dip_role);
    if (!p.mpid.empty()) o.field("mpid", p.mpid);
    if (!p.mp_role.empty()) o.field("mp_role", p.mp_role);
    if (!p.organisation.empty()) o.field("organisation", p.organisation);
    o.window(p.window);
    o.key("dcp");
    o.open('[');
    for (const auto& n : p.dcp) {
      o.open('{');
      o.field("dip_id", n.dip_id);
      o.window(n.window);
      o.close('}');
    }
    o.close(']');
    o.close('}');
  }
  o.close('}');

  o.key("channels");
  o.open('{');
  for (const auto& [id, ch] : m.channels) {
    o.key(id);
    o.open('{');
    if (!ch.name.empty()) o.field("name", ch.name);
    o.key("ingress");
    o.strings(ch.ingress);
    o.key("egress");
    o.strings(ch.egress);
    o.key("event_codes");
    o.strings(ch.event_codes);
    o.key("roles_unknown");
    o.boolean(ch.roles_unknown);
    if (!ch.source.empty()) o.field("source", ch.source);
    o.field("origin", ch.origin);
    o.close('}');
  }
  o.close('}');

  o.key("opt_out_catalogue");
  o.open('[');
  for (const auto& e : m.catalogue) {
    o.open('{');
    o.field("interface", e.interface);
    o.field("event_code", e.event_code);
    o.key("roles");
    o.strings(e.roles);
    o.close('}');
  }
  o.close(']');

  std::map<std::string, std::vector<const OptOut*>> opt_outs;
  for (const auto& x : m.opt_outs) opt_outs[x.dip_id].push_back(&x);
  o.key("opt_outs");
  o.open('{');
  for (const auto& [id, list] : opt_outs) {
    o.key(id);
    o.open('[');
    for (const OptOut* x : list) {
      o.open('{');
      o.field("interface", x->interface);
      o.field("event_code", x->event_code);
      o.window(x->window);
      o.close('}');
    }
    o.close(']');
  }
  o.close('}');

  std::map<std::string, std::vector<const Pairing*>> pairings;
  for (const auto& x : m.pairings) pairings[x.sds].push_back(&x);
  o.key("pairings");
  o.open('{');
  for (const auto& [id, list] : pairings) {
    o.key(id);
    o.open('[');
    for (const Pairing* x : list) {
      o.open('{');
      o.field("mdr", x->mdr);
      o.window(x->window);
      o.close('}');
    }
    o.close(']');
  }
  o.close('}');
  o.close('}');
  return o.text;
}

void sort_errors(std::vector<Diagnostic>& errors, std::size_t from) {
  std::stable_sort(errors.begin() + static_cast<std::ptrdiff_t>(from), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
  });
}

LoadOutcome load_impl(const fs::path& yaml_file, const fs::path& schema_file, const LoadOptions& options, bool default_only) {
  LoadOutcome out;
  auto schema = schema::CompiledSchema::load_file(schema_file);
  if (!schema) {
    out.errors.push_back({schema_file, 0, 0, "the registry schema did not load: " + schema.error().message});
    return out;
  }

  // The default channel table first (a registry of channels only).
  Model defaults;
  fs::path default_file;
  if (!default_only && options.merge_default_channels) {
    default_file = options.default_channels ? *options.default_channels
                                            : schema_file.parent_path() / "registry" / "default-channels.yaml";
    if (fs::exists(default_file)) {
      Parsed parsed;
      const std::size_t first = out.errors.size();
      if (read_file(default_file, *schema, parsed, out.errors)) {
        Checker checker(default_file, parsed.yj, out.errors);
        defaults = checker.read(parsed.doc.root());
        checker.check(defaults);
      }
      sort_errors(out.errors, first);
    } else {
      default_file.clear();
    }
  }

  Parsed parsed;
  const std::size_t first = out.errors.size();
  if (!read_file(yaml_file, *schema, parsed, out.errors)) {
    sort_errors(out.errors, first);
    return out;
  }
  Checker checker(yaml_file, parsed.yj, out.errors);
  Model model = checker.read(parsed.doc.root());
  for (auto& [id, ch] : model.channels) ch.origin = default_only ? "default" : "registry";
  for (auto& [id, ch] : defaults.channels) {
    ch.origin = "default";
    model.channels.emplace(id, ch);  // the registry's own entry wins
  }
  if (model.channels.empty())
    out.errors.push_back({yaml_file, 1, 1,
                          "the registry has no `channels` and the default channel table (schemas/registry/default-channels.yaml) was not found, "
                          "expected channels in the registry or the shipped default"});
  checker.check(model);
  sort_errors(out.errors, first);
  if (!out.errors.empty()) return out;

  auto doc = json::Document::parse(normalise(model, yaml_file, default_file));
  if (!doc) {
    out.errors.push_back({yaml_file, 0, 0, "internal: the normalised registry is not JSON: " + doc.error().message});
    return out;
  }
  out.registry = std::make_shared<const json::Document>(std::move(doc).value());
  return out;
}

Result<std::shared_ptr<const json::Document>> to_result(LoadOutcome&& outcome) {
  if (outcome.errors.empty()) return std::move(outcome.registry);
  std::string message;
  for (const auto& d : outcome.errors) message += (message.empty() ? "" : "\n") + d.to_string();
  const bool io = outcome.errors.size() == 1 && outcome.errors[0].line == 0;
  return make_error(io ? ErrorCode::kIo : ErrorCode::kParse, std::move(message));
}

}  // namespace

LoadOutcome load(const fs::path& yaml_file, const fs::path& schema_file, const LoadOptions& options) {
  return load_impl(yaml_file, schema_file, options, false);
}

Result<std::shared_ptr<const json::Document>> load_registry(const fs::path& yaml_file, const fs::path& schema_file) {
  return to_result(load_impl(yaml_file, schema_file, {}, false));
}

Result<std::shared_ptr<const json::Document>> load_registry(const fs::path& yaml_file, const fs::path& schema_file,
                                                            const LoadOptions& options) {
  return to_result(load_impl(yaml_file, schema_file, options, false));
}

Result<std::shared_ptr<const json::Document>> load_default_registry(const fs::path& data_dir) {
  const fs::path schemas = data_dir / "schemas";
  return to_result(load_impl(schemas / "registry" / "default-channels.yaml", schemas / "registry.schema.json", {}, true));
}

Result<std::shared_ptr<const json::Document>> load_registry_option(std::string_view argument, const fs::path& data_dir) {
  if (argument == "default") return load_default_registry(data_dir);
  return load_registry(fs::path(argument), data_dir / "schemas" / "registry.schema.json");
}

}  // namespace flowguard::registry
