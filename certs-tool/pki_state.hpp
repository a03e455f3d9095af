#pragma once
// The CA state folder (--dir) as one object: locked for the command's lifetime, its ledger and
// CA certificates loaded and cross-checked, CA keys decrypted only when a command signs, and
// every change collected in a write_plan that commit() writes at the very end. A command that
// fails before commit() leaves the folder byte-for-byte as it was.
//
// DIR/ca.pem            trust bundle: every CA in force (current first)
// DIR/crl.pem           one CRL per CA in force, same order
// DIR/ledger.json       every CA and certificate issued (the source of truth)
// DIR/.lock             flock(2) target
// DIR/cas/ca-N.pem      CA number N's certificate (kept after retirement)
// DIR/private/ca-N-key.pem   its key (0600, in a 0700 folder; AES-256 with a passphrase)
// DIR/issued/SERIAL.pem a copy of every leaf certificate issued

#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "certs-tool/dir_lock.hpp"
#include "certs-tool/files.hpp"
#include "certs-tool/keys.hpp"
#include "certs-tool/ledger.hpp"

namespace dockgate::certs {

struct pki_layout {
    fs::path dir;

    fs::path bundle() const { return dir / "ca.pem"; }
    fs::path crl() const { return dir / "crl.pem"; }
    fs::path ledger_file() const { return dir / "ledger.json"; }
    fs::path cas_dir() const { return dir / "cas"; }
    fs::path private_dir() const { return dir / "private"; }
    fs::path issued_dir() const { return dir / "issued"; }
    fs::path ca_cert(int id) const { return cas_dir() / ("ca-" + std::to_string(id) + ".pem"); }
    fs::path ca_key(int id) const {
        return private_dir() / ("ca-" + std::to_string(id) + "-key.pem");
    }
    fs::path issued(std::string const& serial) const { return issued_dir() / (serial + ".pem"); }
};

class pki_state {
public:
    /// Whether ca.pem and crl.pem must already match the ledger (every command but `crl`), or
    /// may be missing or damaged because the command rebuilds them (`crl`).
    enum class derived_files { check, rebuild };

    /// Opens an existing CA folder: takes the lock, loads ledger.json, the certificate of every
    /// CA in force (checked against the ledger), and checks ca.pem and crl.pem. Missing or
    /// corrupt state is a user error naming the file and the fix.
    static pki_state open(fs::path const& dir, dir_lock::mode lock, std::ostream& notices,
                          derived_files derived = derived_files::check);

    /// For `init`: creates DIR (0700) if needed, takes the lock, and refuses if DIR already
    /// holds a CA. The ledger starts empty; add_ca() the first CA.
    static pki_state create(fs::path const& dir, std::ostream& notices);

    pki_state(pki_state&&) = default;
    pki_state& operator=(pki_state&&) = delete;

    pki_layout const& layout() const { return layout_; }
    ledger& book() { return book_; }
    ledger const& book() const { return book_; }
    write_plan& plan() { return plan_; }

    /// The certificate of a CA in force (or one added by this command); nullptr otherwise.
    X509* ca_cert(int id) const;

    /// The key of CA `id`, loaded on first use: the file must be 0600 (no group/other access),
    /// decrypt with `pass` if it is encrypted, and match the CA certificate.
    EVP_PKEY* ca_key(int id, passphrase const* pass);

    /// Registers a new CA (init, rotate-ca): its record goes into the ledger and its
    /// certificate and key into the plan (the key encrypted if `pass` is given).
    void add_ca(ca_record record, x509_ptr cert, pkey_ptr key, passphrase const* pass);

    /// Issues CA `id`'s next CRL from the ledger's revocations (nextUpdate now + crl_days).
    void reissue_crl(int id, passphrase const* pass, time_point now);

    /// Drops a CA from ca.pem and crl.pem (retire-ca); its record stays in the ledger.
    void drop_from_force(int id);

    /// CA `id`'s CRL in force, or nullptr.
    X509_CRL* crl(int id) const;

    /// The nextUpdate of CA `id`'s CRL in force, if it has one.
    std::optional<time_point> crl_next_update(int id) const;

    /// The trust bundle and CRL file as they should read after this command.
    std::string bundle_pem() const;
    std::string crl_pem() const;

    /// Writes the plan, then ca.pem and crl.pem if they changed, then ledger.json last (the
    /// record claims a change only once it is published).
    void commit();

private:
    pki_state(pki_layout layout, dir_lock lock, std::ostream& notices);
    void load_cas();
    void check_bundle();
    void load_crls(derived_files derived);

    pki_layout layout_;
    dir_lock lock_;
    std::ostream* notices_;
    ledger book_;
    std::map<int, x509_ptr> ca_certs_; // CAs in force (and new ones)
    std::map<int, pkey_ptr> ca_keys_;  // loaded or generated this run
    std::map<int, x509_crl_ptr> crls_; // the CRL in force of each CA in force
    std::optional<std::string> bundle_on_disk_;
    std::optional<std::string> crl_on_disk_;
    std::string ledger_on_disk_;
    write_plan plan_;
};

} // namespace dockgate::certs
