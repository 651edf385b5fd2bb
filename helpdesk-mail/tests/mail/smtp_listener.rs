//! The SMTP listener, driven by Python's smtplib (and by hand where timing matters).
