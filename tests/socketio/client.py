"""python-socketio 5 against the real server, driven by tests/e2e/socketio.rs.

Usage: client.py <scenario> <params as JSON>. Prints one JSON object per line; the
Rust test asserts on them. A failed expectation raises (non-zero exit, traceback on
stderr), which the test reports.
"""

import json
import queue
import sys
import threading
import time
import uuid

import requests
import socketio
import websocket

TIMEOUT = 10


def out(**kw):
    print(json.dumps(kw), flush=True)


class Recorder:
    """A Socket.IO client that records every event it gets, in order."""

    def __init__(self):
        self.sio = socketio.Client(reconnection=False)
        self.events = queue.Queue()
        self.log = []  # every (name, argument) next() returned
        self.sio.on("*", self._any)

    def _any(self, event, *args):
        self.events.put((event, args[0] if args else None))

    def connect(self, base, auth, transports=None):
        self.sio.connect(base, auth=auth, transports=transports, wait_timeout=TIMEOUT)

    def next(self, name=None, skip=("presence",)):
        """The next event (named `name` when given), skipping others."""
        deadline = time.time() + TIMEOUT
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {name or 'event'} within {TIMEOUT} s")
            ev, arg = self.events.get(timeout=left)
            if name is None and ev in skip:
                continue
            self.log.append((ev, arg))
            if name is None or ev == name:
                return ev, arg

    def call(self, event, data):
        return self.sio.call(event, data, timeout=TIMEOUT)


class Api:
    def __init__(self, base):
        self.base = base

    def req(self, method, path, token, body=None):
        r = requests.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def say(self, token, conv, text):
        return self.req("POST", f"/api/conversations/{conv}/messages", token, {"content": text})


class ApiWs:
    """A plain /api/ws client."""

    def __init__(self, base, token):
        url = base.replace("http://", "ws://") + f"/api/ws?token={token}"
        self.ws = websocket.create_connection(url, timeout=TIMEOUT)

    def next(self, kind=None):
        while True:
            frame = json.loads(self.ws.recv())
            if kind is None or frame.get("type") == kind:
                return frame

    def ids_until(self, event_id):
        ids = []
        while True:
            frame = self.next()
            if "id" in frame:
                ids.append(frame["id"])
                if frame["id"] == event_id:
                    return ids

    def send(self, obj):
        self.ws.send(json.dumps(obj))


def message_event_id(rec, message_id):
    """Waits for message.created of this message; its event id."""
    while True:
        _, arg = rec.next("message.created")
        if arg["data"]["message"]["id"] == message_id:
            return arg["id"]


def scenario_events(p):
    """Canonical events in /api/ws order; copies only after a join; foreign joins
    refused; errors through the ack and as an `error` event."""
    api = Api(p["base"])
    agent = Recorder()
    agent.connect(p["base"], {"token": p["agent"]})
    out(step="connected", transport=agent.sio.transport())

    # A customer's new ticket: the agent gets it and a notification (no join needed).
    t = api.req("POST", "/api/tickets", p["alice"], {"subject": "Printer", "description": "On fire"})
    tconv = t["conversation_id"]
    # The agent takes it (and so becomes a member, who gets its messages).
    api.req("PATCH", f"/api/tickets/{t['id']}", p["agent"], {"assignee_id": p["agent_id"]})
    api.say(p["agent"], tconv, "on it")
    m1 = api.say(p["alice"], tconv, "before the join")
    first = message_event_id(agent, m1["id"])
    # Join by ticket id; then a message, a ticket change.
    ack = agent.call("join_conversation", {"ticket_id": t["id"], "user_id": "ignored"})
    out(step="join", ack=ack, conversation_id=tconv)
    m2 = api.say(p["alice"], tconv, "after the join")
    api.req("PATCH", f"/api/tickets/{t['id']}", p["agent"], {"status": "pending"})
    # A message in a conversation the socket did not join: no copy.
    api.say(p["bob"], p["bob_dm"], "not joined")
    sentinel = api.say(p["alice"], tconv, "sentinel")

    # Foreign and bad joins, unknown events, from the customer's own socket.
    alice = Recorder()
    alice.connect(p["base"], {"token": p["alice"]}, transports=["websocket"])
    out(step="foreign_join", ack=alice.call("join_conversation", {"conversation_id": p["bob_dm"]}))
    out(step="random_join", ack=alice.call("join_conversation", {"conversation_id": str(uuid.uuid4())}))
    out(step="bad_join", ack=alice.call("join_conversation", "not an object"))
    out(step="unknown_acked", ack=alice.call("frobnicate", {}))
    alice.sio.emit("frobnicate", {})
    _, err = alice.next("error")
    out(step="unknown_unacked", error=err)
    alice.sio.disconnect()

    # Everything the agent got, from its ticket.created to the sentinel's copy.
    while True:
        ev, arg = agent.next()
        if ev == "new_message" and arg["id"] == sentinel["id"]:
            break
    canonical = [a["id"] for e, a in agent.log if "." in e]
    copies = []
    for ev, arg in agent.log:
        if ev == "new_message":
            copies.append({"event": ev, "message_id": arg["id"]})
        elif ev == "ticket_updated":
            copies.append({"event": ev, "ticket_id": arg["id"], "status": arg["status"]})
        elif ev == "notification":
            copies.append({"event": ev, "ticket_id": arg["notification"]["data"]["ticket_id"]
                           if "notification" in arg else arg.get("data", {}).get("ticket_id")})
        elif "." not in ev and ev not in ("typing", "presence"):
            copies.append({"event": ev})
    out(step="events", ids=canonical, copies=copies, first=first,
        m1=m1["id"], m2=m2["id"], sentinel=sentinel["id"], ticket=t["id"])
    agent.sio.disconnect()


def scenario_typing_resume(p):
    """typing both ways with /api/ws; auth.after and resume without gaps or duplicates."""
    api = Api(p["base"])
    conv = p["conv"]
    alice_ws = ApiWs(p["base"], p["alice"])
    agent_ws = ApiWs(p["base"], p["agent"])  # the parallel /api/ws of the agent
    agent = Recorder()
    agent.connect(p["base"], {"token": p["agent"]}, transports=["websocket"])

    ack = agent.call("typing", {"conversation_id": conv})
    frame = alice_ws.next("typing")
    out(step="typing_to_ws", ack=ack, frame=frame)
    again = agent.call("typing", {"conversation_id": conv})
    out(step="typing_again", ack=again)
    out(step="typing_foreign", ack=agent.call("typing", {"conversation_id": str(uuid.uuid4())}))
    alice_ws.send({"type": "typing", "conversation_id": conv})
    _, typing = agent.next("typing")
    out(step="typing_from_ws", event=typing)

    # Resume: connected, then away while two messages come, back with auth.after.
    m1 = api.say(p["alice"], conv, "one")
    e1 = message_event_id(agent, m1["id"])
    agent.sio.disconnect()
    api.say(p["alice"], conv, "two")
    api.say(p["alice"], conv, "three")
    back = Recorder()
    back.connect(p["base"], {"token": p["agent"], "after": e1}, transports=["websocket"])
    m4 = api.say(p["alice"], conv, "four")
    e4 = message_event_id_from(back, m4["id"])
    # A resume from the same point while live: nothing twice.
    resumed = back.call("resume", {"after": e1})
    m5 = api.say(p["alice"], conv, "five")
    ids = []
    while True:
        ev, arg = back.next()
        if isinstance(arg, dict) and "id" in arg and "." in ev:
            ids.append(arg["id"])
            if ev == "message.created" and arg["data"]["message"]["id"] == m5["id"]:
                break
    out(step="resume", ack=resumed, ids=back.replayed + ids, ws_ids=agent_ws.ids_until(ids[-1]), after=e1, e4=e4)
    back.sio.disconnect()


def scenario_resume_gap(p):
    """auth.after and resume from a pruned event: resume_gap, then live events."""
    api = Api(p["base"])
    rec = Recorder()
    rec.connect(p["base"], {"token": p["agent"], "after": p["old"]}, transports=["websocket"])
    on_connect = rec.next("resume_gap")
    ack = rec.call("resume", {"after": p["old"]})
    on_resume = rec.next("resume_gap")
    m = api.say(p["alice"], p["conv"], "live after the gap")
    live = message_event_id(rec, m["id"])
    out(step="gap", on_connect=on_connect[1], ack=ack, on_resume=on_resume[1], live=live)
    rec.sio.disconnect()


def message_event_id_from(rec, message_id):
    """Like message_event_id, keeping every canonical id seen on the way."""
    rec.replayed = getattr(rec, "replayed", [])
    while True:
        ev, arg = rec.next()
        if isinstance(arg, dict) and "id" in arg and "." in ev:
            rec.replayed.append(arg["id"])
            if ev == "message.created" and arg["data"]["message"]["id"] == message_id:
                return arg["id"]


def raw(base, query="EIO=4&transport=websocket"):
    url = base.replace("http://", "ws://") + "/socket.io/?" + query
    ws = websocket.create_connection(url, timeout=TIMEOUT)
    opened = ws.recv()
    assert opened.startswith("0"), opened
    return ws, json.loads(opened[1:])


def packet(ws):
    """The next packet that is not an Engine.IO ping (which it answers)."""
    while True:
        frame = ws.recv()
        if frame != "2":
            return frame
        ws.send("3")


def closes(ws):
    """True when the server closes the connection (no further Socket.IO packet)."""
    try:
        while True:
            frame = ws.recv()
            if frame in ("", None):
                return True
            if frame == "2":  # an Engine.IO ping: answer, keep waiting
                ws.send("3")
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        return True
    except websocket.WebSocketTimeoutException:
        return False


def sent_then_closes(ws, frame):
    """True when the server closes the connection over `frame`: while it is still being
    sent (the server stops reading at its limit and resets) or after."""
    try:
        ws.send(frame)
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return True
    return closes(ws)


def scenario_bad_input(p):
    """Malformed packets, other namespaces, oversized payloads: the connection closes
    or is refused; the server and the other sockets go on."""
    base = p["base"]
    api = Api(base)
    agent = Recorder()
    agent.connect(base, {"token": p["agent"]}, transports=["websocket"])

    ws, opened = raw(base)
    out(step="open", open=opened)
    ws.send("40" + json.dumps({"token": p["agent"]}))
    out(step="connect", packet=packet(ws)[:2])
    ws.send('42["typing", {"conversation_id": ')
    out(step="malformed_closes", closed=closes(ws))

    ws, _ = raw(base)
    ws.send("40/admin," + json.dumps({"token": p["agent"]}))
    out(step="namespace", packet=packet(ws))
    ws.close()

    ws, _ = raw(base)
    ws.send("40" + json.dumps({"token": p["agent"]}))
    packet(ws)
    oversized = '42["typing","' + "x" * 1_000_001 + '"]'
    out(step="oversized_closes", closed=sent_then_closes(ws, oversized))

    ws, _ = raw(base)
    ws.send("9garbage")
    out(step="unknown_packet_closes", closed=closes(ws))

    # The others are unaffected.
    m = api.say(p["alice"], p["conv"], "still there?")
    message_event_id(agent, m["id"])
    out(step="others_fine", ok=True)

    if p.get("ws_only"):
        ws, opened = raw(p["ws_only"])
        out(step="ws_only_open", open=opened)
        ws.close()
    agent.sio.disconnect()


def main():
    scenario, params = sys.argv[1], json.loads(sys.argv[2])
    globals()["scenario_" + scenario](params)
    out(step="done")


if __name__ == "__main__":
    main()
