#include "certs-tool/pki_state.hpp"

#include <algorithm>
#include <cstdio>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certs-tool/error.hpp"

namespace dockgate::certs {

namespace {

std::string const no_ca_fix = "create a CA with `dockgate-certs init --dir DIR`, or point --dir "
                              "(or DOCKGATE_PKI) at the CA's folder";

std::string rebuild_fix(fs::path const& dir) {
    return "run `dockgate-certs crl --dir " + dir.string() +
           "` to rebuild ca.pem and crl.pem from the ledger";
}

long crl_number_of(X509_CRL* crl) {
    int crit = 0;
    asn1_integer_ptr number(
        static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, nullptr)));
    return number ? ASN1_INTEGER_get(number.get()) : 0;
}

} // namespace

pki_state::pki_state(pki_layout layout, dir_lock lock, std::ostream& notices)
    : layout_(std::move(layout))
    , lock_(std::move(lock))
    , notices_(&notices) {}

pki_state pki_state::create(fs::path const& dir, std::ostream& notices) {
    ensure_private_dir(dir, 0700);
    pki_layout layout{dir};
    pki_state state(layout, dir_lock(dir, dir_lock::mode::exclusive, notices), notices);
    for (auto const& existing :
         {layout.ledger_file(), layout.bundle(), layout.private_dir(), layout.cas_dir()}) {
        std::error_code ec;
        if (fs::exists(fs::symlink_status(existing, ec)))
            fail_user(dir.string() + " already holds a CA (" + existing.filename().string() +
                      " exists); refusing to overwrite it. Use `rotate-ca` to replace a CA, or "
                      "choose another --dir");
    }
    return state;
}

pki_state pki_state::open(fs::path const& dir, dir_lock::mode lock, std::ostream& notices,
                          derived_files derived) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        fail_user(dir.string() + ": no such folder; " + no_ca_fix);
    check_not_world_writable(dir);
    pki_layout layout{dir};
    pki_state state(layout, dir_lock(dir, lock, notices), notices);
    auto const text = read_file_if_exists(layout.ledger_file());
    if (!text)
        fail_user(layout.ledger_file().string() + ": missing, so " + dir.string() +
                  " holds no CA; " + no_ca_fix);
    state.ledger_on_disk_ = *text;
    state.book_ = parse_ledger(*text, layout.ledger_file().string());
    state.load_cas();
    if (derived == derived_files::check)
        state.check_bundle();
    state.load_crls(derived);
    return state;
}

void pki_state::load_cas() {
    for (auto const* ca : book_.cas_in_force()) {
        auto const file = layout_.ca_cert(ca->id);
        auto const text = read_file(file, "restore it from a backup of " + layout_.dir.string());
        auto certs = parse_pem_certificates(text);
        if (!certs || certs->size() != 1)
            fail_user(
                file.string() +
                ": expected exactly one PEM certificate (corrupt?); restore it from a backup");
        X509* cert = certs->front().get();
        if (serial_text(X509_get0_serialNumber(cert)) != ca->serial || !self_signed(cert))
            fail_user(
                file.string() + ": not the CA with serial " + ca->serial +
                " that ledger.json records (or its signature is broken); restore it from a backup");
        ca_certs_[ca->id] = std::move(certs->front());
    }
}

void pki_state::check_bundle() {
    bundle_on_disk_ = read_file(layout_.bundle(), rebuild_fix(layout_.dir));
    auto const certs = parse_pem_certificates(*bundle_on_disk_);
    std::string problem;
    if (!certs)
        problem = "not a list of PEM certificates (corrupt?)";
    else {
        auto const in_force = book_.cas_in_force();
        bool same = certs->size() == in_force.size();
        for (std::size_t i = 0; same && i < in_force.size(); ++i)
            same = to_der((*certs)[i].get()) == to_der(ca_certs_.at(in_force[i]->id).get());
        if (!same)
            problem = "does not hold exactly the CAs in force according to ledger.json";
    }
    if (!problem.empty())
        fail_user(layout_.bundle().string() + ": " + problem + "; " + rebuild_fix(layout_.dir));
}

void pki_state::load_crls(derived_files derived) {
    crl_on_disk_ = read_file_if_exists(layout_.crl());
    if (!crl_on_disk_) {
        if (derived == derived_files::rebuild)
            return;
        fail_user(layout_.crl().string() + ": missing; " + rebuild_fix(layout_.dir));
    }
    auto crls = parse_pem_crls(*crl_on_disk_);
    if (!crls) {
        if (derived == derived_files::rebuild)
            return;
        fail_user(layout_.crl().string() + ": not a list of PEM CRLs (corrupt?); " +
                  rebuild_fix(layout_.dir));
    }
    for (auto& crl : *crls) {
        int owner = 0;
        for (auto const& [id, cert] : ca_certs_)
            if (crl_signed_by(crl.get(), cert.get()))
                owner = id;
        if (owner == 0 || crls_.contains(owner)) {
            if (derived == derived_files::rebuild)
                continue;
            fail_user(layout_.crl().string() + ": holds a CRL that " +
                      (owner == 0 ? "no CA in force signed" : "duplicates another of the same CA") +
                      "; " + rebuild_fix(layout_.dir));
        }
        // A CRL number must never repeat, even if the ledger was not updated after crl.pem.
        auto* record = book_.find_ca(owner);
        record->crl_number = std::max(record->crl_number, crl_number_of(crl.get()));
        crls_[owner] = std::move(crl);
    }
    if (derived == derived_files::check)
        for (auto const* ca : book_.cas_in_force())
            if (!crls_.contains(ca->id))
                fail_user(layout_.crl().string() + ": has no CRL of CA " + std::to_string(ca->id) +
                          " (\"" + ca->name + "\"); " + rebuild_fix(layout_.dir));
}

X509* pki_state::ca_cert(int id) const {
    auto it = ca_certs_.find(id);
    return it == ca_certs_.end() ? nullptr : it->second.get();
}

EVP_PKEY* pki_state::ca_key(int id, passphrase const* pass) {
    if (auto it = ca_keys_.find(id); it != ca_keys_.end())
        return it->second.get();
    X509* cert = ca_cert(id);
    if (cert == nullptr)
        fail_internal("CA " + std::to_string(id) + " is not in force; cannot sign with it");
    auto const file = layout_.ca_key(id);
    auto text = read_file(file, "restore it from a backup of " + layout_.dir.string());
    auto const mode = file_mode(file);
    if (mode && (*mode & 0077) != 0) {
        OPENSSL_cleanse(text.data(), text.size());
        char octal[16];
        (void)std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(*mode));
        fail_user(file.string() + ": the CA key is accessible to group or others (mode " + octal +
                  "); run `chmod 600 " + file.string() + "` and check who may have read it");
    }
    if (pass != nullptr && !is_encrypted_key_pem(text))
        *notices_ << "note: " << file.string()
                  << " is not encrypted; --passphrase-file is not needed for it\n";
    pkey_ptr key;
    try {
        key = load_private_key(text, file, pass);
    } catch (...) {
        OPENSSL_cleanse(text.data(), text.size());
        throw;
    }
    OPENSSL_cleanse(text.data(), text.size());
    if (X509_check_private_key(cert, key.get()) != 1) {
        ERR_clear_error();
        fail_user(file.string() + ": this key does not belong to " + layout_.ca_cert(id).string() +
                  "; restore both from the same backup");
    }
    return ca_keys_.emplace(id, std::move(key)).first->second.get();
}

void pki_state::add_ca(ca_record record, x509_ptr cert, pkey_ptr key, passphrase const* pass) {
    int const id = record.id;
    plan_.add_dir(layout_.cas_dir(), 0755);
    plan_.add_dir(layout_.private_dir(), 0700);
    plan_.add_secret(layout_.ca_key(id), private_key_pem(key.get(), pass));
    plan_.add_file(layout_.ca_cert(id), to_pem(cert.get()));
    book_.cas.push_back(std::move(record));
    ca_certs_[id] = std::move(cert);
    ca_keys_[id] = std::move(key);
}

void pki_state::reissue_crl(int id, passphrase const* pass, time_point now) {
    auto* record = book_.find_ca(id);
    X509* cert = ca_cert(id);
    if (record == nullptr || cert == nullptr)
        fail_internal("no CA " + std::to_string(id) + " in force to issue a CRL for");
    std::vector<revoked_serial> revoked;
    for (auto const& c : book_.certs)
        if (c.ca_id == id && c.revoked_at)
            revoked.push_back({c.serial, *c.revoked_at, c.reason});
    EVP_PKEY* key = ca_key(id, pass);
    record->crl_number += 1;
    crls_[id] = make_crl(cert, key, revoked, record->crl_number, now,
                         now + std::chrono::hours(24) * book_.crl_days);
}

void pki_state::drop_from_force(int id) {
    ca_certs_.erase(id);
    ca_keys_.erase(id);
    crls_.erase(id);
}

std::optional<time_point> pki_state::crl_next_update(int id) const {
    auto it = crls_.find(id);
    if (it == crls_.end())
        return std::nullopt;
    return to_time_point(X509_CRL_get0_nextUpdate(it->second.get()));
}

std::string pki_state::bundle_pem() const {
    std::string out;
    for (auto const* ca : book_.cas_in_force())
        if (X509* cert = ca_cert(ca->id))
            out += to_pem(cert);
    return out;
}

X509_CRL* pki_state::crl(int id) const {
    auto const it = crls_.find(id);
    return it == crls_.end() ? nullptr : it->second.get();
}

std::string pki_state::crl_pem() const {
    std::string out;
    for (auto const* ca : book_.cas_in_force())
        if (auto it = crls_.find(ca->id); it != crls_.end())
            out += to_pem(it->second.get());
    return out;
}

void pki_state::commit() {
    for (auto const* ca : book_.cas_in_force())
        if (!crls_.contains(ca->id))
            fail_internal("CA " + std::to_string(ca->id) + " has no CRL to publish");
    auto const bundle = bundle_pem();
    if (bundle != bundle_on_disk_)
        plan_.add_file(layout_.bundle(), bundle);
    auto const crl = crl_pem();
    if (crl != crl_on_disk_)
        plan_.add_file(layout_.crl(), crl);
    auto const ledger_text = serialize_ledger(book_);
    if (ledger_text != ledger_on_disk_)
        plan_.add_file(layout_.ledger_file(), ledger_text);
    plan_.commit();
    bundle_on_disk_ = bundle;
    crl_on_disk_ = crl;
    ledger_on_disk_ = ledger_text;
}

} // namespace dockgate::certs
