"""The board's HTML pages, one module per topic.  Forms post back here; every form carries a CSRF token."""

from passgate.board.pages import account, login, posts, recovery, security

ENDPOINTS = [*posts.ENDPOINTS, *login.ENDPOINTS, *account.ENDPOINTS, *security.ENDPOINTS,
             *recovery.ENDPOINTS]
