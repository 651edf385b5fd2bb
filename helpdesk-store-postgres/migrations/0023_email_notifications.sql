-- A user's choice to have their notifications mailed (API-email.md "Outbound").
ALTER TABLE users ADD COLUMN email_notifications boolean NOT NULL DEFAULT false;
