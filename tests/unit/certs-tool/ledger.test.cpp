// The ledger alone: JSON round trip, corruption named by JSON path, status rules.
#include "certs-tool/ledger.hpp"

#include "certs_test_support.hpp"
#include "common/openssl_util.hpp"

namespace dockgate::certs::testing {
namespace {

time_point at(char const* text) {
    return *parse_utc(text);
}

ledger sample() {
    ledger book;
    book.crl_days = 3;
    ca_record ca;
    ca.id = 1;
    ca.serial = "AB01";
    ca.name = "Test CA";
    ca.key = key_type::ed25519;
    ca.key_encrypted = true;
    ca.state = ca_state::previous;
    ca.not_before = at("2025-01-01T00:00:00Z");
    ca.not_after = at("2035-01-01T00:00:00Z");
    ca.created_at = ca.not_before;
    ca.crl_number = 4;
    book.cas.push_back(ca);
    ca.id = 2;
    ca.serial = "AB02";
    ca.name = "Test CA G2";
    ca.state = ca_state::current;
    book.cas.push_back(ca);

    cert_record c;
    c.serial = "C0FFEE";
    c.kind = leaf_kind::client;
    c.ca_id = 1;
    c.name = "alice";
    c.groups = {"dev", "ops"};
    c.subject = "CN=alice,O=ops,O=dev";
    c.not_before = at("2025-02-01T00:00:00Z");
    c.not_after = at("2025-03-01T00:00:00Z");
    c.issued_at = c.not_before;
    c.out = "/tmp/alice";
    c.revoked_at = at("2025-02-10T00:00:00Z");
    c.reason = revocation_reason::key_compromise;
    book.certs.push_back(c);
    c.serial = "BEEF";
    c.kind = leaf_kind::server;
    c.ca_id = 2;
    c.name = "gw.example.com";
    c.groups = {};
    c.dns = {"gw.example.com"};
    c.ips = {"127.0.0.1", "::1"};
    c.revoked_at.reset();
    c.superseded_by = "F00D";
    c.renewal_of = "C0FFEE";
    book.certs.push_back(c);
    return book;
}

TEST(ledger, serializes_and_parses_back_identically) {
    auto const book = sample();
    auto const text = serialize_ledger(book);
    auto const back = parse_ledger(text, "ledger.json");
    EXPECT_EQ(serialize_ledger(back), text);
    ASSERT_EQ(back.certs.size(), 2u);
    EXPECT_EQ(back.certs[0].groups, (std::vector<std::string>{"dev", "ops"}));
    EXPECT_EQ(back.certs[0].reason, revocation_reason::key_compromise);
    EXPECT_EQ(back.certs[1].ips, (std::vector<std::string>{"127.0.0.1", "::1"}));
    EXPECT_EQ(back.certs[1].superseded_by, "F00D");
    EXPECT_EQ(back.cas[0].crl_number, 4);
    EXPECT_EQ(back.current_ca()->id, 2);
    EXPECT_EQ(back.previous_ca()->id, 1);
    EXPECT_EQ(back.crl_days, 3);
}

void expect_corrupt(std::string const& text, std::string const& needle) {
    try {
        parse_ledger(text, "/x/ledger.json");
        ADD_FAILURE() << "accepted: " << text.substr(0, 200);
    } catch (certs_error const& e) {
        std::string const message = e.what();
        EXPECT_EQ(e.code(), exit_code::user_error);
        EXPECT_EQ(message.rfind("/x/ledger.json: ", 0), 0u) << message;
        EXPECT_NE(message.find(needle), std::string::npos) << message;
        EXPECT_NE(message.find("restore ledger.json from a backup"), std::string::npos) << message;
    }
}

std::string replaced(std::string text, std::string const& from, std::string const& to) {
    auto const pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return text.replace(pos, from.size(), to);
}

TEST(ledger, corruption_is_named_by_file_and_json_path) {
    auto const good = serialize_ledger(sample());
    expect_corrupt("", "not valid JSON");
    expect_corrupt(good.substr(0, good.size() / 2), "not valid JSON");
    expect_corrupt("[]", "$: expected an object");
    expect_corrupt(replaced(good, "\"version\": 1", "\"version\": 2"), "$.version");
    expect_corrupt(replaced(good, "\"name\": \"alice\"", "\"name\": 7"),
                   "$.certificates[0].name: expected a string");
    expect_corrupt(replaced(good, "\"kind\": \"client\"", "\"kind\": \"root\""),
                   "$.certificates[0].kind");
    expect_corrupt(replaced(good, "\"serial\": \"BEEF\"", "\"serial\": \"C0FFEE\""),
                   "duplicate serial");
    expect_corrupt(replaced(good, "\"serial\": \"BEEF\"", "\"serial\": \"beef\""),
                   "$.certificates[1].serial");
    expect_corrupt(replaced(good, "\"ca\": 2", "\"ca\": 9"), "no CA with id 9");
    expect_corrupt(replaced(good, "\"state\": \"current\"", "\"state\": \"previous\""), "found 0");
    expect_corrupt(replaced(good, "\"state\": \"previous\"", "\"state\": \"current\""), "found 2");
    expect_corrupt(replaced(good, "\"state\": \"current\"", "\"state\": \"retired\""),
                   "exactly one CA in state current");
    expect_corrupt(
        replaced(good, "\"not_after\": \"2035-01-01T00:00:00Z\"", "\"not_after\": \"soon\""),
        "$.cas[0].not_after");
    expect_corrupt(replaced(good, "\"reason\": \"keyCompromise\"", "\"reason\": \"bored\""),
                   "$.certificates[0].reason");
    expect_corrupt(replaced(good, "\"crl_days\": 3", "\"crl_days\": 0"), "$.crl_days");
}

TEST(ledger, status_rules) {
    auto book = sample();
    auto const early = at("2025-02-05T00:00:00Z");
    auto const late = at("2025-04-01T00:00:00Z");
    auto& alice = book.certs[0];
    auto& server = book.certs[1];
    alice.revoked_at.reset();
    EXPECT_EQ(status_of(book, alice, early), cert_status::valid);
    alice.revoked_at = early;
    EXPECT_EQ(status_of(book, alice, early), cert_status::revoked);
    EXPECT_EQ(status_of(book, alice, late), cert_status::revoked) << "revoked wins over expired";
    EXPECT_EQ(status_of(book, server, early), cert_status::superseded);
    EXPECT_EQ(status_of(book, server, late), cert_status::expired);
    server.superseded_by.reset();
    EXPECT_EQ(status_of(book, server, early), cert_status::valid);
    book.cas[1].state = ca_state::retired;
    EXPECT_EQ(status_of(book, server, early), cert_status::retired);

    EXPECT_EQ(status_of(book.cas[0], early), cert_status::superseded);
    EXPECT_EQ(status_of(book.cas[1], early), cert_status::retired);
    book.cas[0].state = ca_state::current;
    EXPECT_EQ(status_of(book.cas[0], early), cert_status::valid);
    EXPECT_EQ(status_of(book.cas[0], at("2036-01-01T00:00:00Z")), cert_status::expired);
}

TEST(ledger, finds_serials_in_any_spelling) {
    auto book = sample();
    EXPECT_EQ(book.find_cert("c0:ff:ee"), &book.certs[0]);
    EXPECT_EQ(book.find_cert("0xbeef"), &book.certs[1]);
    EXPECT_EQ(book.find_cert("alice"), nullptr);
    EXPECT_EQ(book.find_ca_by_serial("ab02"), &book.cas[1]);
    EXPECT_EQ(book.next_ca_id(), 3);
}

} // namespace
} // namespace dockgate::certs::testing
