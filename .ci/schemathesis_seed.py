"""Seeds a fresh Helpdesk server for the contract check and writes schemathesis's config.

Run by .ci/schemathesis with the server's base URL and the first admin's credentials.
Without real resources, every operation on `/api/.../{id}` would only ever answer 404;
so this creates one of each (users, groups with members, organizations, tickets, a group
conversation with a thread, messages, an article, a webhook with a delivery, attachments,
a notification, a canned reply of each scope) and binds
their ids to the path, query and body fields that take them, through dictionaries drawn
with a probability below 1 so that random ids are still tried.

Destructive operations (DELETE, leaving a conversation, ending a group membership) get
resources of their own, so that
the other operations keep theirs for the whole run. Only the standard library is used.

Usage: schemathesis_seed.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD CONFIG_OUT LOGOUT_TOKEN_OUT
"""

import json
import os
import sys
import urllib.error
import urllib.request
import uuid

BASE, ADMIN_EMAIL, ADMIN_PASSWORD, CONFIG_OUT, LOGOUT_TOKEN_OUT = sys.argv[1:6]


def call(method, path, token=None, body=None, raw=None, content_type=None):
    """One request; returns the decoded JSON answer (None when empty). Fails loudly."""
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"seeding failed: {method} {path} answered {e.code}: {e.read()[:500]!r}")
    return json.loads(text) if text else None


def login(email, password):
    return call("POST", "/api/auth/login", body={"email": email, "password": password})[
        "access_token"
    ]


def upload(token, name, content, path="/api/attachments"):
    boundary = uuid.uuid4().hex
    raw = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return call("POST", path, token, raw=raw, content_type=f"multipart/form-data; boundary={boundary}")


admin = login(ADMIN_EMAIL, ADMIN_PASSWORD)
# A second session of the same admin, for the separate logout run (logging out ends
# only the session its token belongs to, so the main run's token stays valid).
with open(LOGOUT_TOKEN_OUT, "w") as f:
    f.write(login(ADMIN_EMAIL, ADMIN_PASSWORD))

password = "seeded-password-1"
agent = call("POST", "/api/users", admin,
             {"email": "agent@example.com", "name": "Agent", "role": "agent", "password": password})
carol = call("POST", "/api/auth/signup",
             body={"email": "carol@example.com", "name": "Carol", "password": password})
dave = call("POST", "/api/auth/signup",
            body={"email": "dave@example.com", "name": "Dave", "password": password})
carol_token = carol["access_token"]
users = [agent["id"], carol["user"]["id"], dave["user"]["id"]]  # never the admin: PATCH could lock it out

# Groups (queues): the default one every store starts with, one to work on with the agent
# as a member, one to delete (empty: a group holding tickets is 409 `in_use`), and one
# whose membership of the agent is there to be ended.
default_group = next(g for g in call("GET", "/api/groups", admin)["items"] if g["is_default"])
work_group = call("POST", "/api/groups", admin,
                  {"name": "Billing", "description": "Invoices and refunds."})
group_to_delete = call("POST", "/api/groups", admin, {"name": "Delete me"})
group_to_leave_staff = call("POST", "/api/groups", admin, {"name": "Leavers"})
for g, access in [(work_group, "reply"), (group_to_leave_staff, "read")]:
    call("PUT", f"/api/groups/{g['id']}/members/{agent['id']}", admin, {"access": access})

# Organizations: one to work on (Dave belongs to it), one to delete. Their domains are
# none of the seeded users' (example.com), so nobody else joins by signing up.
work_org = call("POST", "/api/organizations", admin,
                {"name": "Acme", "domains": ["acme.example"], "sharing": "managers"})
org_to_delete = call("POST", "/api/organizations", admin, {"name": "Delete me too"})
call("PATCH", f"/api/users/{dave['user']['id']}", admin,
     {"organization_id": work_org["id"], "is_org_manager": True})

# Tickets: one to work on, one to delete. Carol opens them unassigned, so the admin is
# notified (`ticket_created` goes to staff).
ticket = call("POST", "/api/tickets", carol_token,
              {"subject": "Printer on fire", "description": "It is on fire.", "tags": ["printer"]})
ticket_to_delete = call("POST", "/api/tickets", carol_token,
                        {"subject": "Delete me", "description": "A ticket for DELETE."})
call("POST", f"/api/conversations/{ticket['conversation_id']}/messages", admin,
     {"content": "Looking into it."})
ticket_attachment = upload(admin, "log.txt", b"printer log\n", f"/api/tickets/{ticket['id']}/attachments")
free_uploads = [upload(admin, f"free-{i}.txt", b"not attached yet\n")["id"] for i in range(3)]

# A group conversation with a thread, and one to leave.
group = call("POST", "/api/conversations", admin,
             {"kind": "group", "title": "Seeded group", "member_ids": [users[0], users[1]]})
root = call("POST", f"/api/conversations/{group['id']}/messages", admin, {"content": "Root message"})
reply = call("POST", f"/api/conversations/{group['id']}/messages", carol_token,
             {"content": "A reply", "parent_id": root["id"]})
to_delete = call("POST", f"/api/conversations/{group['id']}/messages", admin,
                 {"content": "A message for DELETE"})
group_to_leave = call("POST", "/api/conversations", admin,
                      {"kind": "group", "title": "Group to leave", "member_ids": users})

# The knowledge base.
article = call("POST", "/api/kb/articles", admin,
               {"title": "Reset your password", "body": "Open **Settings**, then *Password*.",
                "tags": ["account"], "status": "published"})
article_to_delete = call("POST", "/api/kb/articles", admin, {"title": "Delete me", "body": "x"})

# Webhooks (the server runs with --no-webhook-worker: nothing is ever sent).
webhook = call("POST", "/api/webhooks", admin,
               {"url": "http://127.0.0.1:9/hook", "events": ["*"], "description": "seeded"})
webhook_to_delete = call("POST", "/api/webhooks", admin,
                         {"url": "http://127.0.0.1:9/other", "events": ["ticket.created"]})
call("POST", f"/api/webhooks/{webhook['id']}/test", admin)
deliveries = call("GET", f"/api/webhooks/{webhook['id']}/deliveries", admin)["items"]

# API keys: a service account (an admin makes its keys), two keys of the admin's own,
# one of them to delete. The service account stays out of `users`: PATCH may make those
# customers, which a service account refuses (422).
bot = call("POST", "/api/users", admin,
           {"email": "bot@example.com", "name": "Bot", "role": "agent", "is_service": True})
api_key = call("POST", "/api/users/me/api-keys", admin, {"name": "seeded", "scopes": ["tickets:read"]})
api_key_to_delete = call("POST", "/api/users/me/api-keys", admin,
                         {"name": "Delete me", "scopes": ["kb:read"]})

# Canned replies: one of each scope to work on, and one to delete.
canned = [
    call("POST", "/api/canned-replies", admin,
         {"title": "Thanks", "shortcut": "thanks", "body": "Thanks, {{requester.name}}!", "scope": "personal"}),
    call("POST", "/api/canned-replies", admin,
         {"title": "Billing hello", "shortcut": "billing-hello", "body": "Hello from billing, {{ agent.name }}.",
          "scope": "group", "group_id": work_group["id"]}),
    call("POST", "/api/canned-replies", admin,
         {"title": "Closing", "shortcut": "closing", "body": "Closing #{{ticket.number}}.", "scope": "global"}),
]
canned_to_delete = call("POST", "/api/canned-replies", admin,
                        {"title": "Delete me", "shortcut": "delete-me", "body": "x", "scope": "global"})

# Views: one of each scope to work on, and one to delete.
views = [
    call("POST", "/api/views", admin, {"name": "Mine", "scope": "personal"}),
    call("POST", "/api/views", admin,
         {"name": "Billing urgent", "scope": "group", "group_id": work_group["id"],
          "filter": {"all": [{"field": "priority", "op": "eq", "value": "urgent"}]}}),
    call("POST", "/api/views", admin,
         {"name": "Open", "scope": "global", "sort": "priority",
          "filter": {"all": [{"field": "status", "op": "in", "value": ["open", "pending"]}]}}),
]
view_to_delete = call("POST", "/api/views", admin, {"name": "Delete me", "scope": "global"})

# Macros: two to apply and change, one to delete.
macros = [
    call("POST", "/api/macros", admin,
         {"name": "Prioritise", "actions": [{"action": "set_priority", "value": "high"},
                                            {"action": "add_tags", "value": ["triaged"]}]}),
    call("POST", "/api/macros", admin,
         {"name": "Tell", "actions": [{"action": "notify", "to": "requester", "value": "Seen"}]}),
]
macro_to_delete = call("POST", "/api/macros", admin,
                       {"name": "Delete me", "actions": [{"action": "assign", "value": None}]})

# Rules: a trigger and an automation to read, change and dry-run; one to delete.
rules = [
    call("POST", "/api/rules", admin,
         {"name": "Tag urgent", "kind": "trigger",
          "condition": {"all": [{"field": "priority", "op": "eq", "value": "urgent"}]},
          "actions": [{"action": "add_tags", "value": ["urgent"]}]}),
    call("POST", "/api/rules", admin,
         {"name": "Stale", "kind": "automation",
          "condition": {"all": [{"field": "hours_since_updated", "op": "gt", "value": 48}]},
          "actions": [{"action": "add_internal_note", "value": "Stale"}]}),
]
rule_to_delete = call("POST", "/api/rules", admin,
                      {"name": "Delete me", "kind": "trigger",
                       "actions": [{"action": "set_priority", "value": "low"}]})

# Statuses and custom fields of the installation's own: ones to read and change, one
# each to delete.
statuses = [
    call("POST", "/api/ticket-statuses", admin,
         {"key": "waiting_for_parts", "category": "pending", "agent_label": "Waiting for parts",
          "customer_label": "Waiting"}),
]
status_to_delete = call("POST", "/api/ticket-statuses", admin,
                        {"key": "delete_me", "category": "on_hold", "agent_label": "Delete me"})
fields = [
    call("POST", "/api/ticket-fields", admin,
         {"key": "platform", "type": "select", "label": "Platform", "options": ["web", "api"],
          "customer_visible": True}),
]
field_to_delete = call("POST", "/api/ticket-fields", admin,
                       {"key": "delete_me", "type": "text", "label": "Delete me"})

# SLA policies: one to read and change, one to delete.
sla_policies = [
    call("POST", "/api/sla-policies", admin,
         {"name": "Standard", "targets": {"first_response": {"normal": 60, "urgent": 15},
                                          "resolution": {"normal": 480}}}),
]
sla_policy_to_delete = call("POST", "/api/sla-policies", admin,
                            {"name": "Delete me", "targets": {}, "active": False})
# Calendars: two to read, change and preview, one to delete.
calendars = [
    call("POST", "/api/calendars", admin,
         {"name": "Berlin office", "timezone": "Europe/Berlin",
          "hours": {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ["mon", "tue", "wed", "thu", "fri"]},
          "holidays": ["2026-12-24", "2026-12-25"]}),
    call("POST", "/api/calendars", admin,
         {"name": "Around the clock", "timezone": "UTC",
          "hours": {d: [["00:00", "24:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}}),
]
calendar_to_delete = call("POST", "/api/calendars", admin,
                          {"name": "Delete me", "timezone": "America/New_York",
                           "hours": {"sat": [["10:00", "14:00"]]}})
# Mailboxes: an IMAP one and a raw webhook one (its secret to rotate) to read and change,
# one to delete.
mailboxes = [
    call("POST", "/api/mailboxes", admin,
         {"address": "support@example.com", "name": "Support",
          "inbound": {"kind": "imap", "host": "imap.example.com", "username": "support",
                      "password": "imap-password"},
          "outbound": {"kind": "smtp", "url": "smtp://support@smtp.example.com:587?tls=required",
                       "password": "smtp-password"}}),
    call("POST", "/api/mailboxes", admin,
         {"address": "hooks@example.com", "name": "Hooks",
          "inbound": {"kind": "webhook", "provider": "raw"}}),
]
mailbox_to_delete = call("POST", "/api/mailboxes", admin,
                         {"address": "delete-me@example.com", "name": "Delete me",
                          "inbound": {"kind": "pipe"}})
# Mailboxes to test (POST /api/mailboxes/{id}/test), which no other operation changes: one
# whose IMAP and SMTP servers are closed ports on loopback (port 1: nothing listens there),
# so both checks fail at once (200, `ok: false`) instead of waiting on a made-up host, and
# one without IMAP or SMTP (both null).
mailboxes_to_test = [
    call("POST", "/api/mailboxes", admin,
         {"address": "tested@example.com", "name": "Tested",
          "inbound": {"kind": "imap", "host": "127.0.0.1", "port": 1, "tls": "none",
                      "username": "tested", "password": "imap-password"},
          "outbound": {"kind": "smtp", "url": "smtp://tested@127.0.0.1:1",
                       "password": "smtp-password"}}),
    call("POST", "/api/mailboxes", admin,
         {"address": "piped@example.com", "name": "Piped", "inbound": {"kind": "pipe"}}),
]
# Mail in and out, so the mail logs have records: a mail posted to the webhook mailbox
# (an admin's token; it opens a ticket of channel `email`), and a ticket of the
# SMTP-sending mailbox with a public staff reply, which records an outbound mail (the
# server runs with --no-mail-worker: it stays `pending`, nothing is sent).
mail = (b"From: Erin <erin@example.com>\r\nTo: hooks@example.com\r\nSubject: Seeded mail\r\n"
        b"Message-ID: <seeded-1@example.com>\r\n\r\nA mail for the inbound log.\r\n")
inbound = call("POST", f"/api/inbound/email/{mailboxes[1]['id']}?recipient=hooks@example.com", admin,
               raw=mail, content_type="message/rfc822")
if inbound["result"] != "ticket_created":
    sys.exit(f"seeding failed: the posted mail made no ticket: {inbound}")
mail_ticket = call("POST", "/api/tickets", admin,
                   {"subject": "Mailed replies", "description": "Replies go out by mail.",
                    "requester_id": carol["user"]["id"], "mailbox_id": mailboxes[0]["id"]})
call("POST", f"/api/conversations/{mail_ticket['conversation_id']}/messages", admin,
     {"content": "We are on it."})
outbound = call("GET", f"/api/mailboxes/{mailboxes[0]['id']}/outbox", admin)["items"]
if not outbound:
    sys.exit("seeding failed: a public staff reply on a mailbox's ticket recorded no outbound mail")
# CSAT: Carol's ticket resolved makes a survey; its token is in her `csat_requested`
# notification only.
csat_ticket = call("POST", "/api/tickets", carol_token,
                   {"subject": "Rate me", "description": "A ticket to resolve for a survey."})
call("PATCH", f"/api/tickets/{csat_ticket['id']}", admin, {"status": "resolved"})
csat_tokens = [n["data"]["csat_token"] for n in call("GET", "/api/notifications", carol_token)["items"]
               if n["kind"] == "csat_requested"]
if not csat_tokens:
    sys.exit("seeding failed: resolving Carol's ticket sent her no csat_requested notification")

notifications = call("GET", "/api/notifications", admin)["items"]
if not notifications:
    sys.exit("seeding failed: the admin has no notification after a customer opened a ticket")

dictionaries = {
    "users": users,
    "staff": [agent["id"]],
    "customers": [carol["user"]["id"], dave["user"]["id"]],
    "groups": [work_group["id"], default_group["id"]],
    "group_to_delete": [group_to_delete["id"]],
    "group_to_leave": [group_to_leave_staff["id"]],
    "organizations": [work_org["id"]],
    "organization_to_delete": [org_to_delete["id"]],
    "tickets": [ticket["id"]],
    "ticket_to_delete": [ticket_to_delete["id"]],
    "conversations": [group["id"]],
    "conversation_to_leave": [group_to_leave["id"]],
    "messages": [root["id"], reply["id"]],
    "message_to_delete": [to_delete["id"]],
    "articles": [article["id"]],
    "article_keys": [article["id"], article["slug"]],
    "article_to_delete": [article_to_delete["id"]],
    "webhooks": [webhook["id"]],
    "webhook_to_delete": [webhook_to_delete["id"]],
    "deliveries": [d["id"] for d in deliveries],
    "attachments": [ticket_attachment["id"]],
    "free_uploads": free_uploads,
    # Webhook URLs whose host resolves (the server runs with --webhooks-allow-private);
    # a made-up host mostly does not, which is a 422 (see ACCEPTANCE_ALSO).
    "webhook_urls": ["http://127.0.0.1:9/generated", "http://localhost:9/generated"],
    "notifications": [n["id"] for n in notifications],
    "key_owners": ["me", bot["id"]],
    "me": ["me"],
    "api_keys": [api_key["id"]],
    "api_key_to_delete": [api_key_to_delete["id"]],
    "canned_replies": [c["id"] for c in canned],
    "canned_reply_to_delete": [canned_to_delete["id"]],
    "views": [v["id"] for v in views],
    "view_to_delete": [view_to_delete["id"]],
    "macros": [m["id"] for m in macros],
    "macro_to_delete": [macro_to_delete["id"]],
    "calendars": [c["id"] for c in calendars],
    "calendar_to_delete": [calendar_to_delete["id"]],
    "mailboxes": [m["id"] for m in mailboxes],
    "mailbox_to_delete": [mailbox_to_delete["id"]],
    "mailboxes_to_test": [m["id"] for m in mailboxes_to_test],
    "mail_tickets": [inbound["ticket_id"], mail_ticket["id"]],
    "inbound_mailboxes": [mailboxes[1]["id"]],
    "inbound_ids": [inbound["id"]],
    "outbound_mailboxes": [mailboxes[0]["id"]],
    "outbound_ids": [m["id"] for m in outbound],
    "csat_tokens": csat_tokens,
    "csat_tickets": [csat_ticket["id"]],
    "rules": [r["id"] for r in rules],
    "rule_to_delete": [rule_to_delete["id"]],
    "statuses": [st["id"] for st in statuses],
    "status_to_delete": [status_to_delete["id"]],
    "sla_policies": [sp["id"] for sp in sla_policies],
    "sla_policy_to_delete": [sla_policy_to_delete["id"]],
    "fields": [f["id"] for f in fields],
    "field_to_delete": [field_to_delete["id"]],
}

# (method or None for all, path, {parameter: dictionary})
bindings = [
    ("GET", "/api/users", {"query.organization_id": "organizations"}),
    ("POST", "/api/users", {"body.organization_id": "organizations"}),
    ("GET", "/api/users/{id}", {"path.id": "users"}),
    # Customers, whom organizations take (on staff, `organization_id` is a 422).
    ("PATCH", "/api/users/{id}", {"path.id": "customers", "body.organization_id": "organizations"}),
    ("GET", "/api/groups/{id}", {"path.id": "groups"}),
    ("PATCH", "/api/groups/{id}", {"path.id": "groups"}),
    ("DELETE", "/api/groups/{id}", {"path.id": "group_to_delete"}),
    ("GET", "/api/groups/{id}/members", {"path.id": "groups"}),
    ("PUT", "/api/groups/{id}/members/{user_id}", {"path.id": "groups", "path.user_id": "staff"}),
    ("DELETE", "/api/groups/{id}/members/{user_id}", {"path.id": "group_to_leave", "path.user_id": "staff"}),
    ("POST", "/api/organizations", {}),
    ("GET", "/api/organizations/{id}", {"path.id": "organizations"}),
    ("PATCH", "/api/organizations/{id}", {"path.id": "organizations"}),
    ("DELETE", "/api/organizations/{id}", {"path.id": "organization_to_delete"}),
    ("GET", "/api/tickets", {"query.requester_id": "users", "query.assignee_id": "staff",
                             "query.mailbox_id": "mailboxes"}),
    ("POST", "/api/tickets", {"body.requester_id": "users", "body.assignee_id": "staff",
                              "body.group_id": "groups", "body.attachment_ids[*]": "free_uploads",
                              "body.mailbox_id": "mailboxes"}),
    ("GET", "/api/tickets/{id}", {"path.id": "tickets"}),
    ("PATCH", "/api/tickets/{id}", {"path.id": "tickets", "body.assignee_id": "staff",
                                    "body.mailbox_id": "mailboxes"}),
    ("DELETE", "/api/tickets/{id}", {"path.id": "ticket_to_delete"}),
    ("GET", "/api/tickets/{id}/events", {"path.id": "tickets"}),
    ("POST", "/api/tickets/{id}/cc", {"path.id": "tickets", "body.user_id": "users"}),
    ("DELETE", "/api/tickets/{id}/cc/{user_id}", {"path.id": "tickets", "path.user_id": "users"}),
    ("POST", "/api/tickets/{id}/followers", {"path.id": "tickets", "body.user_id": "staff"}),
    ("DELETE", "/api/tickets/{id}/followers/{user_id}", {"path.id": "tickets", "path.user_id": "staff"}),
    ("POST", "/api/tickets/{id}/snooze", {"path.id": "tickets"}),
    # No dictionary for `into`: merging a seeded ticket would close it for the rest of the run.
    ("POST", "/api/tickets/{id}/merge", {}),
    ("DELETE", "/api/tickets/{id}/snooze", {"path.id": "tickets"}),
    ("GET", "/api/tickets/{id}/attachments", {"path.id": "tickets"}),
    ("POST", "/api/tickets/{id}/attachments", {"path.id": "tickets"}),
    ("POST", "/api/conversations", {"body.member_ids[*]": "users"}),
    (None, "/api/conversations/{id}", {"path.id": "conversations"}),
    ("POST", "/api/conversations/{id}/members", {"path.id": "conversations", "body.user_id": "users"}),
    (None, "/api/conversations/{id}/members/{user_id}",
     {"path.id": "conversation_to_leave", "path.user_id": "users"}),
    ("POST", "/api/conversations/{id}/messages",
     {"path.id": "conversations", "body.parent_id": "messages", "body.attachment_ids[*]": "free_uploads"}),
    ("GET", "/api/conversations/{id}/messages",
     {"path.id": "conversations", "query.before": "messages", "query.after": "messages"}),
    ("GET", "/api/conversations/{id}/messages/{message_id}",
     {"path.id": "conversations", "path.message_id": "messages"}),
    ("PATCH", "/api/conversations/{id}/messages/{message_id}",
     {"path.id": "conversations", "path.message_id": "messages"}),
    ("DELETE", "/api/conversations/{id}/messages/{message_id}",
     {"path.id": "conversations", "path.message_id": "message_to_delete"}),
    (None, "/api/conversations/{id}/messages/{message_id}/thread",
     {"path.id": "conversations", "path.message_id": "messages"}),
    (None, "/api/conversations/{id}/messages/{message_id}/receipts",
     {"path.id": "conversations", "path.message_id": "messages"}),
    (None, "/api/conversations/{id}/messages/{message_id}/read",
     {"path.id": "conversations", "path.message_id": "messages"}),
    (None, "/api/conversations/{id}/read", {"path.id": "conversations"}),
    (None, "/api/conversations/{id}/read-up-to/{message_id}",
     {"path.id": "conversations", "path.message_id": "messages"}),
    (None, "/api/notifications/{id}/read", {"path.id": "notifications"}),
    ("GET", "/api/kb/articles/{key}", {"path.key": "article_keys"}),
    ("PATCH", "/api/kb/articles/{key}", {"path.key": "articles"}),
    ("DELETE", "/api/kb/articles/{key}", {"path.key": "article_to_delete"}),
    ("GET", "/api/webhooks/{id}", {"path.id": "webhooks"}),
    ("PATCH", "/api/webhooks/{id}", {"path.id": "webhooks", "body.url": "webhook_urls"}),
    ("DELETE", "/api/webhooks/{id}", {"path.id": "webhook_to_delete"}),
    (None, "/api/webhooks/{id}/rotate-secret", {"path.id": "webhooks"}),
    (None, "/api/webhooks/{id}/test", {"path.id": "webhooks"}),
    ("GET", "/api/webhooks/{id}/deliveries", {"path.id": "webhooks"}),
    (None, "/api/webhooks/{id}/deliveries/{delivery_id}/retry",
     {"path.id": "webhooks", "path.delivery_id": "deliveries"}),
    ("POST", "/api/attachments", {}),
    (None, "/api/attachments/{id}", {"path.id": "attachments"}),
    (None, "/api/attachments/{id}/content", {"path.id": "attachments"}),
    ("PATCH", "/api/users/me", {}),
    ("GET", "/api/users/{id}/api-keys", {"path.id": "key_owners"}),
    ("POST", "/api/users/{id}/api-keys", {"path.id": "key_owners"}),
    ("GET", "/api/users/{id}/api-keys/{key_id}", {"path.id": "me", "path.key_id": "api_keys"}),
    ("DELETE", "/api/users/{id}/api-keys/{key_id}", {"path.id": "me", "path.key_id": "api_key_to_delete"}),
    ("POST", "/api/webhooks", {"body.url": "webhook_urls"}),
    ("POST", "/api/canned-replies", {"body.group_id": "groups"}),
    ("GET", "/api/canned-replies/{id}", {"path.id": "canned_replies"}),
    ("PATCH", "/api/canned-replies/{id}", {"path.id": "canned_replies"}),
    ("DELETE", "/api/canned-replies/{id}", {"path.id": "canned_reply_to_delete"}),
    ("POST", "/api/canned-replies/{id}/render", {"path.id": "canned_replies", "body.ticket_id": "tickets"}),
    ("POST", "/api/views", {"body.group_id": "groups"}),
    ("GET", "/api/views/{id}", {"path.id": "views"}),
    ("PATCH", "/api/views/{id}", {"path.id": "views"}),
    ("DELETE", "/api/views/{id}", {"path.id": "view_to_delete"}),
    ("GET", "/api/views/{id}/tickets", {"path.id": "views"}),
    ("GET", "/api/csat/{token}", {"path.token": "csat_tokens"}),
    ("POST", "/api/csat/{token}", {"path.token": "csat_tokens"}),
    ("GET", "/api/tickets/{id}/csat", {"path.id": "csat_tickets"}),
    ("GET", "/api/csat", {"query.assignee_id": "staff", "query.group_id": "groups"}),
    ("POST", "/api/macros", {}),
    ("GET", "/api/macros/{id}", {"path.id": "macros"}),
    ("PATCH", "/api/macros/{id}", {"path.id": "macros"}),
    ("DELETE", "/api/macros/{id}", {"path.id": "macro_to_delete"}),
    ("POST", "/api/tickets/{id}/apply-macro", {"path.id": "tickets", "body.macro_id": "macros"}),
    ("POST", "/api/tickets/bulk", {"body.macro_id": "macros"}),
    ("POST", "/api/calendars", {}),
    ("GET", "/api/calendars/{id}", {"path.id": "calendars"}),
    ("PATCH", "/api/calendars/{id}", {"path.id": "calendars"}),
    ("DELETE", "/api/calendars/{id}", {"path.id": "calendar_to_delete"}),
    ("POST", "/api/calendars/{id}/preview", {"path.id": "calendars"}),
    ("POST", "/api/mailboxes", {"body.group_id": "groups"}),
    ("GET", "/api/mailboxes/{id}", {"path.id": "mailboxes"}),
    ("PATCH", "/api/mailboxes/{id}", {"path.id": "mailboxes", "body.group_id": "groups"}),
    ("DELETE", "/api/mailboxes/{id}", {"path.id": "mailbox_to_delete"}),
    (None, "/api/mailboxes/{id}/rotate-secret", {"path.id": "mailboxes"}),
    ("POST", "/api/mailboxes/{id}/test", {"path.id": "mailboxes_to_test"}),
    ("GET", "/api/mailboxes/{id}/inbound", {"path.id": "inbound_mailboxes"}),
    ("GET", "/api/mailboxes/{id}/outbox", {"path.id": "outbound_mailboxes", "query.ticket_id": "mail_tickets"}),
    ("GET", "/api/mailboxes/{id}/inbound/{inbound_id}/raw",
     {"path.id": "inbound_mailboxes", "path.inbound_id": "inbound_ids"}),
    ("GET", "/api/mailboxes/{id}/outbox/{outbound_id}/raw",
     {"path.id": "outbound_mailboxes", "path.outbound_id": "outbound_ids"}),
    ("POST", "/api/mailboxes/{id}/outbox/{outbound_id}/retry",
     {"path.id": "outbound_mailboxes", "path.outbound_id": "outbound_ids"}),
    ("POST", "/api/inbound/email/{mailbox_id}", {"path.mailbox_id": "inbound_mailboxes"}),
    ("POST", "/api/inbound/email/{mailbox_id}/mailgun/mime", {"path.mailbox_id": "inbound_mailboxes"}),
    ("POST", "/api/rules", {}),
    ("GET", "/api/rules/{id}", {"path.id": "rules"}),
    ("PATCH", "/api/rules/{id}", {"path.id": "rules"}),
    ("DELETE", "/api/rules/{id}", {"path.id": "rule_to_delete"}),
    ("GET", "/api/rules/{id}/runs", {"path.id": "rules"}),
    ("POST", "/api/rules/dry-run", {"body.ticket_id": "tickets"}),
    ("POST", "/api/ticket-statuses", {}),
    ("GET", "/api/ticket-statuses/{id}", {"path.id": "statuses"}),
    ("PATCH", "/api/ticket-statuses/{id}", {"path.id": "statuses"}),
    ("DELETE", "/api/ticket-statuses/{id}", {"path.id": "status_to_delete"}),
    ("POST", "/api/sla-policies", {}),
    ("GET", "/api/sla-policies/{id}", {"path.id": "sla_policies"}),
    ("PATCH", "/api/sla-policies/{id}", {"path.id": "sla_policies"}),
    ("DELETE", "/api/sla-policies/{id}", {"path.id": "sla_policy_to_delete"}),
    ("POST", "/api/ticket-fields", {}),
    ("GET", "/api/ticket-fields/{id}", {"path.id": "fields"}),
    ("PATCH", "/api/ticket-fields/{id}", {"path.id": "fields"}),
    ("DELETE", "/api/ticket-fields/{id}", {"path.id": "field_to_delete"}),
]

# positive_data_acceptance: a request the schema allows must be accepted. Its default
# expected statuses (2xx, 401, 403, 404, 409, 429) already cover ids in the path that do
# not exist (404) and state conflicts (409). A few refusals no schema can state need
# more, each for one operation only (.ci/schemathesis lists them and says why):
ACCEPTANCE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
ACCEPTANCE_ALSO = {
    # Ids in the body that must name existing records the caller may use: users that
    # are active (agents or admins as assignees), the caller's own unattached uploads,
    # a parent message of the same conversation; and an internal note only on a ticket's
    # conversation. Unknown or unusable ones: 422 `validation_failed`.
    "POST /api/tickets": ["422"],
    "PATCH /api/tickets/{id}": ["422"],
    "POST /api/conversations": ["422"],
    "POST /api/conversations/{id}/members": ["422"],
    "POST /api/conversations/{id}/messages": ["422"],
    # A CC must be an active customer other than the requester, named by exactly one of
    # `user_id` and `email`; a follower active staff who see the ticket: 422.
    "POST /api/tickets/{id}/cc": ["422"],
    "POST /api/tickets/{id}/followers": ["422"],
    # A member must be an active agent or admin, and other operations may deactivate the
    # seeded agent or make them a customer: 422 `validation_failed`.
    "PUT /api/groups/{id}/members/{user_id}": ["422"],
    # An organization must exist and take customers only, and a manager needs one: an
    # unknown `organization_id`, or one (or `is_org_manager: true`) for an agent or admin,
    # whose role may come from the stored user rather than the body: 422. Generated PATCH
    # bodies mix `role` with both fields, so most are refused and schemathesis warns of a
    # "schema validation mismatch" there: no schema relates a body to the stored role.
    "POST /api/users": ["422"],
    "PATCH /api/users/{id}": ["422"],
    # A free-mail domain (the operator's list, configurable): 422.
    "POST /api/organizations": ["422"],
    "PATCH /api/organizations/{id}": ["422"],
    # A wrong `current_password`: 422.
    "PATCH /api/users/me": ["422"],
    # A webhook URL whose host does not resolve: 422.
    "POST /api/webhooks": ["422"],
    "PATCH /api/webhooks/{id}": ["422"],
    # `before` together with `after`: 400 `invalid_query` (no schema relates two query
    # parameters).
    "GET /api/conversations/{id}/messages": ["400"],
    # A key's `expires_at` must lie after now and at most 365 days away, and a user has
    # at most 50 keys: 422 `validation_failed` (no schema knows the time or the count).
    "POST /api/users/{id}/api-keys": ["422"],
    # A canned reply's `group_id` must name a group, and go with `scope` group only; its
    # body may hold only the four placeholders (a `{{...}}` naming another is refused);
    # an owner has at most 1,000 personal and group replies and there are at most 1,000
    # global ones: 422 `validation_failed`. No schema relates two fields, reads `{{...}}`
    # in free text or knows a count.
    "POST /api/canned-replies": ["422"],
    "PATCH /api/canned-replies/{id}": ["422"],
    # The ticket to render for must exist and be one the caller can see: 422.
    "POST /api/canned-replies/{id}/render": ["422"],
    # A view's `group_id` as a canned reply's; its `filter` must be a condition for
    # views (which fields exist, which operators and values go with each, ids that name
    # records) and its owner under the limits: 422 `validation_failed`. No schema relates
    # a predicate's field to its operator and value, or knows a count.
    "POST /api/views": ["422"],
    "PATCH /api/views/{id}": ["422"],
    # A macro's actions are checked as PATCH bodies: a status key, tags, placeholders in
    # free text, and ids that must name records (groups, active staff, canned replies,
    # users); 500 macros at most. Applying one needs a macro that exists, and a bulk change
    # exactly one of `actions` and `macro_id`: 422 `validation_failed`. No schema relates
    # an action's name to its value, two fields to each other, or knows a count.
    "POST /api/macros": ["422"],
    "PATCH /api/macros/{id}": ["422"],
    "POST /api/tickets/{id}/apply-macro": ["422"],
    "POST /api/tickets/bulk": ["422"],
    # A calendar's time zone must be in the tz database, a day's intervals must start
    # before they end and be sorted without overlaps, a week must hold an open minute,
    # holidays must be real dates; 100 calendars at most. A preview's start must lie in
    # the years 1..=9999 and its due time before the year 10000: 422. No schema relates
    # two items of a list, knows the tz database or a calendar, or counts.
    "POST /api/calendars": ["422"],
    "PATCH /api/calendars/{id}": ["422"],
    "POST /api/calendars/{id}/preview": ["422"],
    # A mailbox's address must be an email address without `+`, a `group_id` a group and
    # a `canned_reply_id` a canned reply; `after: "move"` needs `move_to` (and only it);
    # an SMTP URL must be one lettre reads, without a password; a secret (IMAP password,
    # Mailgun signing key) is required unless the mailbox has one of that kind: 422. No
    # schema knows what exists or what a mailbox holds, or relates two fields.
    "POST /api/mailboxes": ["422"],
    "PATCH /api/mailboxes/{id}": ["422"],
    # Posted mail must be a mail: bytes without a header block are 422 `validation_failed`
    # (the mail parser decides; no schema states what a MIME parser reads as headers).
    "POST /api/inbound/email/{mailbox_id}": ["422"],
    "POST /api/inbound/email/{mailbox_id}/mailgun/mime": ["422"],
    # Rules: a condition and actions as above (trigger-only fields for triggers, a
    # `send_reply` of a global canned reply only), 500 rules at most; a dry run's
    # `ticket_id` must name a visible ticket and `event` a trigger event: 422.
    "POST /api/rules": ["422"],
    "PATCH /api/rules/{id}": ["422"],
    "POST /api/rules/dry-run": ["422"],
    # A status key or a custom field filter names what the installation defines: one that
    # names nothing is 400 `invalid_query` (no schema knows which exist).
    "GET /api/tickets": ["400"],
    # The CSAT report's `from` after its `to`: 400 `invalid_query` (no schema relates two
    # query parameters).
    "GET /api/csat": ["400"],
    # Statuses: at most 50 per category (a count). Fields: `customer_editable` needs
    # `customer_visible`, options only for select and multiselect, at most 100 active
    # (no schema relates two fields or knows a count).
    "POST /api/ticket-statuses": ["422"],
    "PATCH /api/ticket-statuses/{id}": ["422"],
    "POST /api/ticket-fields": ["422"],
    "PATCH /api/ticket-fields/{id}": ["422"],
    # An SLA policy's `condition` must be a condition for SLA (which fields exist, which
    # operators and values go with each, no time-based or trigger-only fields, ids that
    # name records), a `calendar_id` a calendar, at most 100 policies: 422. No schema
    # relates a predicate's field to its operator and value, or knows what exists.
    "POST /api/sla-policies": ["422"],
    "PATCH /api/sla-policies/{id}": ["422"],
    # A snooze's `until` must lie in (now, now + 365 days]: no schema relates a time to now.
    "POST /api/tickets/{id}/snooze": ["422"],
    # A merge's `into` must name a ticket the caller can see, other than the source: 422
    # (field `into`). No schema knows which tickets exist.
    "POST /api/tickets/{id}/merge": ["422"],
}
# Other checks off for one operation each, because the contract wants what they flag:
CHECKS_OFF = {
    # missing_required_header insists on 401 for a request without a token, but pairs it
    # with `before` and `after` together, and API.md answers malformed input (400) before
    # looking at the token. ignored_auth still checks that it refuses requests without one.
    "GET /api/conversations/{id}/messages": ["missing_required_header"],
    # use_after_free expects 404 after a DELETE, but a deleted message keeps its place
    # (API.md): 200 with `content: ""` and `deleted_at` set.
    "GET /api/conversations/{id}/messages/{message_id}": ["use_after_free"],
    # negative_data_rejection sends a part whose name holds a control character, which the
    # schema rules out (the part's headers are malformed: 400 `invalid_multipart`), but the
    # server stops reading at the `file` part, so such a part after it goes unseen (201).
    "POST /api/attachments": ["negative_data_rejection"],
    "POST /api/tickets/{id}/attachments": ["negative_data_rejection"],
    # The mail is bytes: a body of "another type" (a JSON null, a number) goes on the wire as
    # text such as `null`, which the mail parser reads as a mail without a sender: 200, `ignored`.
    "POST /api/inbound/email/{mailbox_id}": ["negative_data_rejection"],
}
bound = {f"{m} {p}" for m, p, _ in bindings if m}
missing = (set(ACCEPTANCE_ALSO) | set(CHECKS_OFF)) - bound
if missing:
    sys.exit(f"no [[operations]] entry for {sorted(missing)}")

PROBABILITY = 0.8  # the rest of the time, a generated value (unknown ids: 404 / 422)


def q(value):
    return json.dumps(value)  # a TOML basic string (ids, slugs and URLs are plain ASCII)


HOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis_hooks.py")
lines = [
    "# Written by .ci/schemathesis_seed.py for one run; not kept.",
    "# A serializer for message/rfc822 bodies (POST /api/inbound/email/{mailbox_id}).",
    f"hooks = {q(HOOKS)}",
    f"headers = {{ Authorization = {q('Bearer ' + admin)} }}",
    "",
    "# Every check. Chosen here rather than with --checks on the command line, which would",
    "# override the per-operation settings.",
    "[checks]",
    "enabled = true",
    "",
    "# In the stateful phase, path values come from earlier responses through inferred links, not",
    "# from the schema (a conversation's null `ticket_id` became `/api/tickets/None/attachments`),",
    "# so positive_data_acceptance only judges the phases that draw every value from the schema.",
    "[phases.stateful.checks]",
    "positive_data_acceptance = { enabled = false }",
    "",
]
for name, values in dictionaries.items():
    if values:
        lines += [f"[dictionaries.{name}]", "values = [" + ", ".join(q(v) for v in values) + "]", ""]
for method, path, params in bindings:
    lines.append("[[operations]]")
    # One filter per entry: schemathesis joins an entry's filters with "or", so
    # include-path plus include-method would also catch every other operation of that method.
    lines.append(f"include-name = {q(method + ' ' + path)}" if method else f"include-path = {q(path)}")
    usable = {k: v for k, v in params.items() if dictionaries[v]}
    inner = ", ".join(
        f"{q(k)} = {{ dictionary = {q(v)}, probability = {PROBABILITY} }}" for k, v in usable.items()
    )
    if inner:
        lines.append(f"parameters = {{ {inner} }}")
    checks = []
    also = ACCEPTANCE_ALSO.get(f"{method} {path}") if method else None
    if also:
        statuses = ", ".join(q(s) for s in ACCEPTANCE_DEFAULT + also)
        checks.append(f"positive_data_acceptance = {{ expected-statuses = [{statuses}] }}")
    for check in CHECKS_OFF.get(f"{method} {path}", []) if method else []:
        checks.append(f"{check} = {{ enabled = false }}")
    if checks:
        lines.append(f"checks = {{ {', '.join(checks)} }}")
    lines.append("")

with open(CONFIG_OUT, "w") as f:
    f.write("\n".join(lines))
print(f"seeded: {len(users)} users and a service account with 2 API keys, 4 groups (2 memberships), 2 organizations, 3 tickets (one resolved, with a CSAT survey), 2 conversations, 3 messages, 2 articles, 2 webhooks, 4 canned replies, 4 views, 2 SLA policies, 3 calendars, 5 mailboxes, "
      f"1 inbound mail, {len(outbound)} outbound mail, "
      f"{len(deliveries)} delivery, {1 + len(free_uploads)} attachments, {len(notifications)} notification(s)")
