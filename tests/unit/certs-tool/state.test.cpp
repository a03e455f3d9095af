// The CA folder as state: missing and corrupt files, permissions, list, and the lock.
#include "certs-tool/ledger.hpp"
#include "certs_test_support.hpp"
#include "common/openssl_util.hpp"

namespace dockgate::certs::testing {
namespace {

using state_test = certs_test;

TEST_F(state_test, a_folder_without_a_ca_says_how_to_make_one) {
    auto l = opts<list_options>();
    expect_user_error([&] { run_list(l); },
                      "no such folder; create a CA with `dockgate-certs init");
    fs::create_directory(pki_);
    expect_user_error([&] { run_list(l); }, "ledger.json: missing");
    auto c = opts<client_options>();
    c.user = "alice";
    expect_user_error([&] { run_client(c); }, "holds no CA");
}

TEST_F(state_test, a_corrupt_ledger_is_named_and_nothing_changes) {
    make_ca();
    make_client("alice");
    auto ledger = read_text(pki_ / "ledger.json");
    write_text(pki_ / "ledger.json", ledger.substr(0, ledger.size() / 2), 0644);
    auto const before = snapshot(tmp_);
    auto c = opts_with_passphrase<client_options>();
    c.user = "bob";
    c.out_dir = tmp_ / "bob";
    expect_user_error([&] { run_client(c); }, (pki_ / "ledger.json").string() + ": not valid JSON");
    auto r = opts_with_passphrase<revoke_options>();
    r.target = "alice";
    expect_user_error([&] { run_revoke(r); }, "restore ledger.json from a backup");
    EXPECT_EQ(snapshot(tmp_), before);
}

TEST_F(state_test, a_missing_or_swapped_ca_certificate_is_refused) {
    make_ca();
    auto const cert = pki_ / "cas" / "ca-1.pem";
    auto const good = read_text(cert);
    fs::remove(cert);
    auto l = opts<list_options>();
    expect_user_error([&] { run_list(l); }, "ca-1.pem: missing; restore it from a backup");
    auto other = opts<init_options>();
    other.dir = tmp_ / "other";
    run_init(other);
    write_text(cert, read_text(other.dir / "cas" / "ca-1.pem"), 0644);
    expect_user_error([&] { run_list(l); }, "not the CA with serial");
    write_text(cert, good, 0644);
    run_list(l);
}

TEST_F(state_test, a_ca_key_others_can_read_is_refused_and_a_wrong_key_detected) {
    make_ca();
    auto const key = pki_ / "private" / "ca-1-key.pem";
    ::chmod(key.c_str(), 0640);
    auto c = opts_with_passphrase<client_options>();
    c.user = "alice";
    c.out_dir = tmp_ / "alice";
    expect_user_error([&] { run_client(c); },
                      "accessible to group or others (mode 0640); run `chmod 600");
    EXPECT_FALSE(fs::exists(tmp_ / "alice"));
    // A key of another CA in its place.
    auto other = opts_with_passphrase<init_options>();
    other.dir = tmp_ / "other";
    run_init(other);
    auto const good = read_text(key);
    write_text(key, read_text(other.dir / "private" / "ca-1-key.pem"), 0600);
    expect_user_error([&] { run_client(c); }, "this key does not belong to");
    write_text(key, "garbage", 0600);
    expect_user_error([&] { run_client(c); }, "not a PEM private key");
    write_text(key, good, 0600);
    run_client(c);
}

TEST_F(state_test, list_shows_every_certificate_with_its_status) {
    make_ca();
    make_server();
    auto const alice = make_client("alice", {"dev", "ops"});
    auto const bob = make_client("bob", {"ci"});
    auto r = opts_with_passphrase<revoke_options>();
    r.target = bob;
    run_revoke(r);
    auto l = opts<list_options>();
    out_.str("");
    run_list(l);
    auto const table = out_.str();
    EXPECT_EQ(table.rfind("SERIAL", 0), 0u) << table;
    for (auto const* column : {"KIND", "SUBJECT", "GROUPS", "NOT-AFTER", "STATUS"})
        EXPECT_NE(table.find(column), std::string::npos) << column;
    EXPECT_EQ(count_of(table, "\n"), 5) << table; // header, CA, server, alice, bob
    EXPECT_NE(table.find("dev,ops"), std::string::npos) << table;
    EXPECT_NE(table.find("revoked"), std::string::npos) << table;
    EXPECT_NE(table.find("[gw.example.com,127.0.0.1]"), std::string::npos) << table;

    l.json = true;
    out_.str("");
    run_list(l);
    auto const json = out_.str();
    EXPECT_EQ(json.front(), '[');
    EXPECT_EQ(count_of(json, "\"kind\":\"ca\""), 1);
    EXPECT_EQ(count_of(json, "\"kind\":\"server\""), 1);
    EXPECT_EQ(count_of(json, "\"kind\":\"client\""), 2);
    EXPECT_NE(json.find("\"groups\":[\"dev\",\"ops\"]"), std::string::npos) << json;
    EXPECT_NE(json.find("\"serial\":\"" + alice + "\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"reason\":\"unspecified\""), std::string::npos) << json;

    // In 60 days the clients (30 days) have expired; the server (397) and CA have not.
    l.now = std::chrono::system_clock::now() + std::chrono::hours(24 * 60);
    out_.str("");
    run_list(l);
    EXPECT_EQ(count_of(out_.str(), "\"status\":\"expired\""), 1)
        << out_.str(); // alice (bob: revoked)
    EXPECT_EQ(count_of(out_.str(), "\"status\":\"revoked\""), 1) << out_.str();
    EXPECT_NE(err_.str().find("expired at"), std::string::npos)
        << "the CRL lapsed too: " << err_.str();
}

TEST_F(state_test, list_expiring_keeps_only_live_certificates_ending_soon) {
    make_ca();
    make_server();
    make_client("alice");
    auto const bob = make_client("bob");
    auto r = opts_with_passphrase<revoke_options>();
    r.target = bob;
    run_revoke(r);
    auto l = opts<list_options>();
    l.json = true;
    l.expiring = "14d";
    out_.str("");
    run_list(l);
    EXPECT_EQ(out_.str(), "[]\n");
    l.expiring = "31d";
    out_.str("");
    run_list(l);
    EXPECT_EQ(count_of(out_.str(), "\"serial\""), 1) << out_.str(); // alice, not revoked bob
    EXPECT_NE(out_.str().find("\"name\":\"alice\""), std::string::npos);
    l.expiring = "two weeks";
    expect_user_error([&] { run_list(l); }, "--expiring two weeks: expected a duration like 14d");
}

TEST_F(state_test, every_write_is_atomic_and_leaves_no_temp_files) {
    make_ca();
    make_server();
    make_client("alice");
    for (auto const& entry : fs::recursive_directory_iterator(tmp_))
        EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
            << entry.path();
    EXPECT_TRUE(fs::exists(pki_ / ".lock"));
}

TEST_F(state_test, concurrent_invocations_are_serialised_by_the_lock) {
    make_ca();
    std::string script;
    for (int i = 0; i < 6; ++i)
        script += std::string(DOCKGATE_CERTS_BINARY) + " client user" + std::to_string(i) +
                  " --group g --dir " + quoted(pki_.string()) + " --passphrase-file " +
                  quoted(passphrase_file_.string()) + " >/dev/null 2>&1 & ";
    script += "wait";
    auto const r = shell(script);
    EXPECT_EQ(r.status, 0) << r.output;
    auto const book = parse_ledger(read_text(pki_ / "ledger.json"), "ledger.json");
    EXPECT_EQ(book.certs.size(), 6u) << "every invocation's certificate is in the ledger";
    for (int i = 0; i < 6; ++i) {
        auto const cert = pki_ / "clients" / ("user" + std::to_string(i)) / "cert.pem";
        EXPECT_EQ(verify(cert).status, 0) << cert;
    }
}

} // namespace
} // namespace dockgate::certs::testing
