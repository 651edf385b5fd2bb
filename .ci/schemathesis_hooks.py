"""Schemathesis hooks for the contract check (.ci/schemathesis_seed.py names this file in the
config it writes). Schemathesis has no serializer for `message/rfc822`, the body of
POST /api/inbound/email/{mailbox_id}: its schema states the mail as a string, put on the wire
as text is (its UTF-8 bytes)."""

import schemathesis

schemathesis.serializer.alias("message/rfc822", "text/plain")
