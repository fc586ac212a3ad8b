"""Mail: the tokens of mailed links, the outbox that holds each mail in the database until an SMTP
server has taken it, the senders (SMTP through aiosmtplib, or the log for development) and the
templates.  No web I/O and nothing of accounts here: :mod:`passgate.accounts` decides what to mail."""
