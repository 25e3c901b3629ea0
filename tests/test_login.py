"""`Login`, the one value a user is known by behind the doors: parsed once, valid by
construction, compared as GitHub compares logins (ignoring case), spelled as given."""

from __future__ import annotations

import pytest

from gitbrag.models import InvalidLogin, Login, logins


def test_a_login_is_its_lowercased_name_and_keeps_the_spelling_it_was_given() -> None:
    login = Login("Mona-Lisa")
    assert login == "mona-lisa" and f"{login}/1_year/" == "mona-lisa/1_year/"
    assert login.spelling == "Mona-Lisa"
    assert {"mona-lisa": 1}[Login("MONA-LISA")] == 1  # keys the same dict entries as the stored form
    assert Login(login) is login  # parsing a Login again is free and keeps its spelling


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../x",
        "a/b",
        "a\\b",
        "a author:b",
        "-mona",
        "mona-",
        "mo--na",
        "mona_lisa",
        "é",
        "x" * 40,
        " mona",
    ],
)
def test_anything_but_a_github_login_is_refused_before_it_can_name_a_folder(name: str) -> None:
    with pytest.raises(InvalidLogin, match="not a valid GitHub username"):
        Login(name)


def test_the_refusal_quotes_a_long_name_only_in_part() -> None:
    with pytest.raises(ValueError) as caught:  # an InvalidLogin is a ValueError: callers that expect one work
        Login("<script>" * 1000)
    assert len(str(caught.value)) < 100


def test_logins_parses_a_list_once_per_user_keeping_the_first_spelling() -> None:
    parsed = logins(["Mona-Lisa", "zoe", "MONA-LISA"])
    assert parsed == ["mona-lisa", "zoe"]
    assert [login.spelling for login in parsed] == ["Mona-Lisa", "zoe"]
    with pytest.raises(InvalidLogin):
        logins(["zoe", "../etc"])
