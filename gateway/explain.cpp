#include "gateway/explain.hpp"

#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace dockgate {

namespace {

// "/v1.41/containers/x/json" -> "/containers/x/json"; anything else unchanged.
std::string without_version(std::string const& path) {
    if (path.size() > 2 && path[0] == '/' && path[1] == 'v') {
        auto const slash = path.find('/', 1);
        if (slash != std::string::npos && path.find_first_not_of("0123456789.", 2) == slash)
            return path.substr(slash);
    }
    return path;
}

} // namespace

lookup_answerer canned_lookups(std::filesystem::path const& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw std::runtime_error(file.string() + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text.str(), ec);
    if (ec || !parsed.is_object())
        throw std::runtime_error(file.string() + ": not a JSON object of look-up paths (" +
                                 (ec ? ec.message() : std::string("another JSON value")) + ")");
    auto answers = std::make_shared<std::map<std::string, admission::daemon_reply>>();
    for (auto const& [key, value] : parsed.as_object()) {
        auto const* status = value.is_object() ? value.as_object().if_contains("status") : nullptr;
        if (status == nullptr || !status->is_int64())
            throw std::runtime_error(file.string() + ": \"" + std::string(key) +
                                     "\": expected {\"status\": N, \"body\": ...}");
        admission::daemon_reply reply;
        reply.status = static_cast<unsigned>(status->as_int64());
        if (auto const* body = value.as_object().if_contains("body"))
            reply.body =
                body->is_string() ? std::string(body->as_string()) : boost::json::serialize(*body);
        answers->emplace(std::string(key), std::move(reply));
    }
    return [answers](admission::lookup const& what) {
        for (auto const& key : {what.path, without_version(what.path)}) {
            if (auto it = answers->find(key); it != answers->end())
                return it->second;
        }
        return admission::daemon_reply{};
    };
}

int explain(std::shared_ptr<server::snapshot const> const& snap, explain_request const& req,
            lookup_answerer const& ask, std::ostream& out) {
    auto const space = req.request_line.find(' ');
    if (space == std::string::npos) {
        out << "error: --request must be \"METHOD TARGET\", e.g. \"POST "
               "/v1.41/containers/create\"\n";
        return 1;
    }
    policy::identity who;
    who.user = req.user;
    who.transport = "explain";
    who.groups = policy::resolve_groups(*snap->cfg, req.user, req.groups);
    auto const roles = snap->policy.roles_of(who);

    admission::request_head head;
    head.method = req.request_line.substr(0, space);
    head.target = req.request_line.substr(space + 1);
    head.content_type = req.content_type;
    head.has_body = req.chunked || !req.body.empty();
    admission::admission judge(snap, who, roles, std::move(head));
    admission::step step;
    bool oversized = false;
    if (auto const limit = judge.body_limit(); limit && req.body.size() > *limit) {
        oversized = true;
        step = judge.body_too_large();
    } else {
        step = judge.start(judge.body_limit() ? req.body : std::string());
    }
    while (step.needs_lookup())
        step = judge.resume(ask(step.lookup_request()));
    auto const& v = step.result();
    bool const forwarded = v.forwards() || v.reply_body.has_value();

    if (req.json) {
        boost::json::object o;
        o["user"] = who.user;
        boost::json::array jroles;
        for (auto const& r : roles)
            jroles.emplace_back(r);
        o["roles"] = std::move(jroles);
        o["operation"] = judge.operation();
        o["decision"] = policy::outcome_name(v.result);
        o["status"] = v.status;
        o["role"] = v.role;
        o["rule"] = v.rule;
        o["reason"] = v.reason;
        o["message"] = v.message;
        o["target"] = v.target;
        if (v.forward_body)
            o["forward_body"] = *v.forward_body;
        if (v.reply_body)
            o["reply_body"] = *v.reply_body;
        boost::json::array lookups;
        for (auto const& l : judge.lookups())
            lookups.push_back(boost::json::object{{"path", l.path}, {"status", l.status}});
        o["lookups"] = std::move(lookups);
        out << boost::json::serialize(o) << '\n';
        return forwarded ? 0 : 3;
    }

    out << "user: " << who.user << "\ngroups:";
    for (auto const& g : who.groups)
        out << ' ' << g;
    out << "\nroles:";
    for (auto const& r : roles)
        out << ' ' << r;
    out << "\noperation: " << (judge.operation().empty() ? "-" : judge.operation()) << '\n';
    for (auto const& l : judge.lookups())
        out << "daemon lookup: GET " << l.path << " -> "
            << (l.status == 0 ? std::string("no answer") : std::to_string(l.status)) << '\n';
    out << "decision: " << policy::outcome_name(v.result);
    if (!forwarded)
        out << " (" << v.status << ")";
    out << "\nrole: " << v.role << "\nrule: " << v.rule << '\n';
    if (!forwarded) {
        out << "message: " << v.message << '\n';
        if (oversized)
            out << "body: " << req.body.size() << " bytes\n";
        return 3;
    }
    if (!v.reason.empty())
        out << "reason: " << v.reason << '\n';
    out << "target: " << v.target << '\n';
    if (v.reply_body)
        out << "answered by the gateway: " << *v.reply_body << '\n';
    else if (v.forward_body)
        out << "forwarded body: " << *v.forward_body << '\n';
    else
        out << "body: forwarded as received\n";
    return 0;
}

} // namespace dockgate
