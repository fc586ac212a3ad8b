"""The board's HTML pages, one module per topic.  Forms post back here; every form carries a CSRF token."""

from passgate.board.pages import account, login, posts, recovery

ENDPOINTS = [*posts.ENDPOINTS, *login.ENDPOINTS, *account.ENDPOINTS, *recovery.ENDPOINTS]
