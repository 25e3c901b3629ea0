"""Who may see what: private repositories and organizations that enforce SAML SSO.

GitHub answers the same URL differently depending on the token: a private repository
exists only for tokens that can read it (everyone else gets 404 / NOT_FOUND, and search
silently leaves it out), and an organization enforcing SAML single sign-on refuses
tokens that were not authorised for it (REST 403, GraphQL FORBIDDEN with
`saml_failure`). One `Access` per request carries that verdict to REST, search and
GraphQL alike, so the three can never disagree about a repository.

Since GitHub's 2026-06-30 changelog the list of a repository's stargazers is for its admins
and collaborators. The fake's rule for "administers" is simple: a token belongs to an
account (`FakeConfig.token_owners`), and it administers the repositories that account owns;
a token of no known account (the default) administers none.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitbrag.fakegithub.records import Dataset, FakeRepo

SAML_MESSAGE = (
    "Resource protected by organization SAML enforcement. "
    "You must grant your Personal Access token access to this organization."
)
SAML_DOCS = (
    "https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/"
)


@dataclass(frozen=True)
class Access:
    """What one request's token may read."""

    private: bool = False  # sees private repositories (an authenticated token with `repo` scope)
    saml_authorized: bool = True  # authorised for every SAML-enforcing org (anonymous: public data only)
    login: str | None = None  # the token's account (`FakeConfig.token_owners`); None: none known
    # GraphQL's `stargazers` refused unless the token administers the repository (a fault switch).
    graphql_stargazers_restricted: bool = False

    def sees(self, repo: FakeRepo) -> bool:
        """Whether the repository exists at all for this caller."""
        return self.private or not repo.private

    def saml_blocked(self, ds: Dataset, repo: FakeRepo) -> bool:
        """Whether the repository's organization refuses this token for want of SAML authorisation."""
        if self.saml_authorized:
            return False
        owner = ds.user(repo.owner)
        return owner is not None and owner.saml_enforced

    def administers(self, repo: FakeRepo) -> bool:
        """Whether the token's account owns the repository (the fake's "admin or collaborator")."""
        return self.login is not None and repo.owner.lower() == self.login.lower()

    def refuses_stargazers(self, repo: FakeRepo) -> bool:
        """Whether GraphQL's `stargazers` of the repository is refused to this token."""
        return self.graphql_stargazers_restricted and not self.administers(repo)


ANONYMOUS_ACCESS = Access(private=False, saml_authorized=True)
FULL_ACCESS = Access(private=True, saml_authorized=True)  # direct (non-HTTP) callers: tests and tools
# GitHub's message for a field the token may not read (FORBIDDEN, `saml_failure: false`), as
# a workflow's GITHUB_TOKEN (an integration's) gets it.
STARGAZERS_REFUSED_MESSAGE = "Resource not accessible by integration"


def sso_header(org: str) -> dict[str, str]:
    """GitHub's `X-GitHub-SSO` header on a SAML refusal: where the user can authorise the token."""
    return {"x-github-sso": f"required; url=https://github.com/orgs/{org}/sso?authorization_request=FAKE"}
