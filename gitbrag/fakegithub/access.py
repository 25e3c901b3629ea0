"""Who may see what: private repositories and organizations that enforce SAML SSO.

GitHub answers the same URL differently depending on the token: a private repository
exists only for tokens that can read it (everyone else gets 404 / NOT_FOUND, and search
silently leaves it out), and an organization enforcing SAML single sign-on refuses
tokens that were not authorised for it (REST 403, GraphQL FORBIDDEN with
`saml_failure`). One `Access` per request carries that verdict to REST, search and
GraphQL alike, so the three can never disagree about a repository.
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

    def sees(self, repo: FakeRepo) -> bool:
        """Whether the repository exists at all for this caller."""
        return self.private or not repo.private

    def saml_blocked(self, ds: Dataset, repo: FakeRepo) -> bool:
        """Whether the repository's organization refuses this token for want of SAML authorisation."""
        if self.saml_authorized:
            return False
        owner = ds.user(repo.owner)
        return owner is not None and owner.saml_enforced


ANONYMOUS_ACCESS = Access(private=False, saml_authorized=True)
FULL_ACCESS = Access(private=True, saml_authorized=True)  # direct (non-HTTP) callers: tests and tools


def sso_header(org: str) -> dict[str, str]:
    """GitHub's `X-GitHub-SSO` header on a SAML refusal: where the user can authorise the token."""
    return {"x-github-sso": f"required; url=https://github.com/orgs/{org}/sso?authorization_request=FAKE"}
