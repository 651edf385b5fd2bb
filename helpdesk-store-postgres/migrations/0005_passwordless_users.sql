-- Users without a password (outside authentication): NULL, never a sentinel string.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
