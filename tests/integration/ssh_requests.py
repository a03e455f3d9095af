#!/usr/bin/env python3
"""Asks dockgate's SSH listener for what the docker CLI never needs, one fresh connection per
request, each request sent with want_reply so that the server's answer is seen, and prints one
line per request: NAME accepted|refused (DETAIL).

    ssh_requests.py PORT USER KEY_FILE KNOWN_HOST_KEY_FILE
"""
import socket
import sys

import paramiko


def connect(port, user, key, host_key):
    t = paramiko.Transport(socket.create_connection(("127.0.0.1", port), timeout=20))
    t.start_client(timeout=20)
    if t.get_remote_server_key().asbytes() != host_key.asbytes():
        sys.exit("the gateway's host key is not the pinned one")
    t.auth_publickey(user, key)
    return t


def raw_request(chan, name, extra):
    """A channel request the way OpenSSH sends it, but asking for a reply."""
    m = paramiko.Message()
    m.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    m.add_int(chan.remote_chanid)
    m.add_string(name)
    m.add_boolean(True)
    extra(m)
    chan._event_pending()
    chan.transport._send_user_message(m)
    chan._wait_for_event()


def main():
    port, user = int(sys.argv[1]), sys.argv[2]
    key = paramiko.PKey.from_path(sys.argv[3]) if hasattr(paramiko.PKey, "from_path") else \
        paramiko.Ed25519Key.from_private_key_file(sys.argv[3])
    host_key = paramiko.Ed25519Key.from_private_key_file(sys.argv[4])

    def env(c):
        raw_request(c, "env", lambda m: (m.add_string("LD_PRELOAD"), m.add_string("/tmp/x.so")))

    def agent(c):
        raw_request(c, "auth-agent-req@openssh.com", lambda m: None)

    checks = {
        "pty": lambda c: c.get_pty(),
        "env": env,
        "subsystem sftp": lambda c: c.invoke_subsystem("sftp"),
        "x11": lambda c: c.request_x11(single_connection=True),
        "agent": agent,
        "shell": lambda c: c.invoke_shell(),
        "exec id": lambda c: c.exec_command("id"),
    }
    for name, ask in checks.items():
        t = connect(port, user, key, host_key)
        try:
            chan = t.open_session(timeout=20)
            try:
                ask(chan)
                # A shell, command or subsystem the server takes but answers with a message, a
                # failing exit status and a close counts as refused: nothing ran. One that
                # gives no exit status within 10 s is taken as running.
                if name in ("shell", "exec id", "subsystem sftp"):
                    if not chan.status_event.wait(10):
                        print("%s accepted (no exit status within 10 s)" % name)
                        continue
                    status = chan.recv_exit_status()
                    chan.settimeout(5)
                    out = chan.makefile_stderr("rb").read() + chan.makefile("rb").read()
                    print("%s %s (exit %d: %s)" % (name, "refused" if status != 0 else "accepted",
                                                   status, out.decode(errors="replace").strip()))
                else:
                    print("%s accepted" % name)
            except paramiko.SSHException as e:
                print("%s refused (%s)" % (name, e))
        finally:
            t.close()
    # Global requests: remote port forwarding (ssh -R), and a direct-tcpip channel (ssh -L).
    t = connect(port, user, key, host_key)
    try:
        try:
            got = t.request_port_forward("127.0.0.1", 0)
            print("tcpip-forward accepted (port %s)" % got)
        except paramiko.SSHException as e:
            print("tcpip-forward refused (%s)" % e)
        try:
            t.open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 4242), timeout=20)
            print("direct-tcpip accepted")
        except (paramiko.ChannelException, paramiko.SSHException) as e:
            print("direct-tcpip refused (%s)" % e)
    finally:
        t.close()


if __name__ == "__main__":
    main()
