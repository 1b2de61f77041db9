#include "tools/zonectl/dnssec.h"

#include <ctime>
#include <memory>

#include "zone/delegation.h"
#include "zone/signature_check.h"
#include "zone/wire/name.h"
#include "zone/wire/types.h"

// ldns after the C++ headers: it defines `bool` in a way <optional> does not survive.
#include <ldns/ldns.h>

namespace zonectl {

namespace {
ldns_rr* make_rr(const std::string& owner, uint16_t type, const std::string& rdata) {
  std::string wire = owner;
  uint8_t f[10] = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1, 0, 0, 0x0e, 0x10,
                   static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size())};
  wire.append(reinterpret_cast<char*>(f), 10);
  wire += rdata;
  ldns_rr* rr = nullptr;
  size_t pos = 0;
  if (ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &pos,
                   LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
    return nullptr;
  return rr;
}
}  // namespace

bool ds_matches_any_key(const std::string& owner, const std::string& ds_rdata,
                        const std::vector<std::string>& keys) {
  if (ds_rdata.size() < 4) return false;
  auto digest_type = static_cast<ldns_hash>(static_cast<uint8_t>(ds_rdata[3]));
  for (const auto& k : keys) {
    ldns_rr* key = make_rr(owner, zone::wire::rrtype::DNSKEY, k);
    if (!key) continue;
    ldns_rr* ds = ldns_key_rr2ds(key, digest_type);
    bool match = false;
    if (ds) {
      ldns_buffer* b = ldns_buffer_new(128);
      if (ldns_rr_rdata2buffer_wire(b, ds) == LDNS_STATUS_OK)
        match = std::string(reinterpret_cast<const char*>(ldns_buffer_begin(b)),
                            ldns_buffer_position(b)) == ds_rdata;
      ldns_buffer_free(b);
      ldns_rr_free(ds);
    }
    ldns_rr_free(key);
    if (match) return true;
  }
  return false;
}

std::string ds_text(const std::string& owner, const std::string& ds_rdata) {
  std::string t = zone::record_text({owner, zone::wire::rrtype::DS, 0, ds_rdata});
  auto p = t.find(" DS ");
  return p == std::string::npos ? t : t.substr(p + 4);
}

namespace {

struct ListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
using ListPtr = std::unique_ptr<ldns_rr_list, ListFree>;

ListPtr rrset_list(const std::string& owner, const zone::wire::RRset& set) {
  ListPtr l(ldns_rr_list_new());
  set.for_each([&](std::string_view rd) {
    if (ldns_rr* rr = make_rr(owner, set.type, std::string(rd))) {
      ldns_rr_set_ttl(rr, set.ttl);
      ldns_rr_list_push_rr(l.get(), rr);
    }
  });
  return l;
}

}  // namespace

SignatureReport verify_signatures(
    const zone::Zone& z, uint32_t now,
    const std::function<std::string(const std::string&, uint16_t, const std::string&)>& where) {
  using namespace zone::wire;
  SignatureReport rep;
  if (!z.is_signed()) return rep;
  const RRset* dnskey = z.apex().find(rrtype::DNSKEY);
  ListPtr keys = rrset_list(z.origin(), *dnskey);
  auto below_cut = [&](const std::string& name) {
    if (name == z.origin()) return false;
    for (NameView p = parent_name(name); p.size() > z.origin().size(); p = parent_name(p)) {
      const zone::Node* n = z.find(p);
      if (n && (n->is_cut || n->has_dname)) return true;
    }
    return false;
  };
  z.for_each_node([&](const zone::Node& n) {
    const std::string name(n.name);
    if (n.empty() || below_cut(name)) return;  // glue and occluded data are not signed
    for (const auto& set : n.rrsets) {
      if (set.type == rrtype::RRSIG) continue;
      if (n.is_cut && set.type != rrtype::DS && set.type != rrtype::NSEC &&
          set.type != rrtype::NSEC3)
        continue;  // the parent signs only DS and NSEC/NSEC3 at a delegation
      char* type = ldns_rr_type2str(static_cast<ldns_rr_type>(set.type));
      std::string label = name_to_text(name) + " " + (type ? type : "?");
      free(type);
      const RRset* sigs = n.sigs_for(set.type);
      if (!sigs) {
        rep.errors.push_back(where(name, set.type, "") + ": " + label + " has no RRSIG");
        continue;
      }
      ListPtr rrset = rrset_list(name, set);
      sigs->for_each([&](std::string_view rd) {
        ++rep.checked;
        std::string rdata(rd);
        // Where the signature is written: looked up only for an error (a search of the file).
        auto at = [&] { return where(name, rrtype::RRSIG, rdata); };
        uint16_t tag = get16(reinterpret_cast<const uint8_t*>(rd.data()) + 16);
        std::string sig_label = "RRSIG " + label + " (key tag " + std::to_string(tag) + ")";
        // The same judgement as the loader's warnings (zone/signature_check.h).
        switch (zone::signature_time(rd, now)) {
          case zone::SignatureTime::expired:
            rep.errors.push_back(at() + ": " + sig_label + " expired on " +
                                 zone::utc_text(zone::signature_expiration(rd)));
            return;
          case zone::SignatureTime::not_yet_valid:
            rep.errors.push_back(at() + ": " + sig_label + " is not valid before " +
                                 zone::utc_text(zone::signature_inception(rd)));
            return;
          default:
            break;
        }
        ldns_rr* sig = make_rr(name, rrtype::RRSIG, rdata);
        if (!sig) {
          rep.errors.push_back(at() + ": " + sig_label + " is malformed");
          return;
        }
        ldns_rr_list* good = ldns_rr_list_new();
        // The window was checked above with serial arithmetic (ldns' own check treats dates
        // past 2038 as negative); here only the cryptography.
        ldns_status st = ldns_verify_rrsig_keylist_notime(rrset.get(), sig, keys.get(), good);
        ldns_rr_list_free(good);
        ldns_rr_free(sig);
        if (st != LDNS_STATUS_OK)
          rep.errors.push_back(at() + ": " + sig_label + " does not verify: " +
                               ldns_get_errorstr_by_id(st));
      });
    }
  });
  return rep;
}

}  // namespace zonectl
