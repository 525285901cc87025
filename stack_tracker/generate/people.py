"""The people of the organisation: their teams, when they were there, and the applications each signs in to."""

from __future__ import annotations

import random

from .model import Organisation, cumulative

TOOLS_PER_PERSON = (4, 10)  # a handful each, from their team's tools
LEFT_OUT_OF_DIRECTORY = 0.04  # contractors and new joiners the directory misses
FIRST_NAMES = ("ana", "ben", "chloe", "dev", "elena", "farid", "grace", "hiro", "ines", "jonas", "kofi", "lena",
               "marco", "nadia", "omar", "priya", "quinn", "rosa", "sam", "tomas", "uma", "victor", "wei", "yara")
LAST_NAMES = ("silva", "berg", "chen", "dubois", "evans", "fischer", "garcia", "haddad", "ito", "jensen", "kim",
              "lopez", "moreau", "novak", "okafor", "patel", "rossi", "schmidt", "tanaka", "varga", "weber", "yilmaz")
INTERNAL_APPS = ("Campaign Request Portal", "Brand Asset Tracker", "Event Budget Sheet", "Lead Router Admin",
                 "Partner Deal Desk", "Webinar Signup Tool", "Content Calendar App", "Survey Builder Beta")


class People:
    """Who is in which team, when they were there, and the handful of applications each signs in to.

    A person's use of an application is a *cell*, numbered
    ``person * len(labels) + application``; the log's sign-ins are drawn from
    the cells open in each month.
    """

    def __init__(self, organisation: Organisation):
        self.organisation = organisation
        self.teams = organisation.person_teams
        self.emails: list[str] = []
        self.names: list[str] = []
        self.joined: list[int] = []
        self.left: list[int] = []
        self.listed: list[bool] = []  # in the directory
        self.labels: list[str] = []  # application names as the identity provider shows them
        # Grouped so that a month's open cells are gathered list by list, not
        # person by person: cells of people there throughout, by the team's use
        # of the tool (a pair) they belong to, or with no pair (an app IT does
        # not know); cells of people who joined or left, one by one.
        self.cells_by_pair: dict[int, list[int]] = {}
        self.unlisted_app_cells: list[int] = []
        self.steady: list[int] = []  # people there every month
        self.movers: list[int] = []
        self.mover_cells: list[tuple[int, int, int]] = []  # (person, pair index or -1, cell)

    @classmethod
    def plan(cls, organisation: Organisation, rng: random.Random, count: int) -> "People":
        """``count`` people with names, dates in the organisation and the cells they may sign in to."""
        people = cls(organisation)
        months = organisation.months
        app_of_tool, internal_apps = people._plan_labels()
        apps = len(people.labels)
        by_team = people._applications_by_team(app_of_tool)
        low, high = TOOLS_PER_PERSON
        for number in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            people.emails.append(f"{first}.{last}{number}@example.com")
            people.names.append(f"{first.capitalize()} {last.capitalize()}")
            tenure = rng.random()
            joined, left = 0, months
            if months > 1 and tenure < 0.1:
                joined = rng.randrange(1, months)
            elif months > 1 and tenure < 0.15:
                left = rng.randrange(1, months)
            people.joined.append(joined)
            people.left.append(left)
            people.listed.append(rng.random() >= LEFT_OUT_OF_DIRECTORY)
            indexes, weights = by_team.get(people.teams[number], ([], []))
            wanted = min(len(indexes), rng.randint(low, high))
            # Drawn with replacement, twice over: the widely held tools come up again, so fewer distinct ones.
            picked = list(dict.fromkeys(rng.choices(indexes, cum_weights=weights, k=2 * wanted)))[:wanted] if wanted else []
            cells = [(index, number * apps + app_of_tool[organisation.pairs[index].tool]) for index in picked]
            if rng.random() < 0.03:
                cells.append((-1, number * apps + rng.choice(internal_apps)))  # an app nobody told IT about
            if joined == 0 and left == months:
                people.steady.append(number)
                for index, cell in cells:
                    if index < 0:
                        people.unlisted_app_cells.append(cell)
                    else:
                        people.cells_by_pair.setdefault(index, []).append(cell)
            else:
                people.movers.append(number)
                people.mover_cells += [(number, index, cell) for index, cell in cells]
        return people

    def _plan_labels(self) -> tuple[dict[int, int], list[int]]:
        """Label the applications behind the identity provider; return each SSO tool's and the in-house ones."""
        tools = self.organisation.tools
        app_of_tool: dict[int, int] = {}
        for index, tool in enumerate(tools):
            if tool.sso:
                app_of_tool[index] = len(self.labels)
                self.labels.append(tool.label)
        internal = []  # in-house apps behind the identity provider: shadow IT once imported
        for number in range(max(1, len(tools) // 100)):
            series = number // len(INTERNAL_APPS)
            internal.append(INTERNAL_APPS[number % len(INTERNAL_APPS)] + (f" {series + 1}" if series else ""))
        internal_apps = list(range(len(self.labels), len(self.labels) + len(internal)))
        self.labels += internal
        return app_of_tool, internal_apps

    def _applications_by_team(self, app_of_tool: dict[int, int]) -> dict[int, tuple[list[int], list[float]]]:
        """Each team's pairs with an application, and their cumulative weights by seats.

        Weighted by seats so that a tool the whole team has is picked by most of it.
        """
        choices: dict[int, tuple[list[int], list[float]]] = {}
        for index, pair in enumerate(self.organisation.pairs):
            if pair.tool in app_of_tool:
                indexes, weights = choices.setdefault(pair.team, ([], []))
                indexes.append(index)
                weights.append(pair.seats)
        return {team: (indexes, cumulative(weights)) for team, (indexes, weights) in choices.items()}

    def open_cells(self, month: int) -> tuple[list[int], list[int]]:
        """The people present in ``month``, and the cells they may sign in to: tools their team used that month."""
        joined, left = self.joined, self.left
        active = [pair.active_in(month) for pair in self.organisation.pairs]
        cells = list(self.unlisted_app_cells)
        for index, pair_cells in self.cells_by_pair.items():
            if active[index]:
                cells += pair_cells
        for person, index, cell in self.mover_cells:
            if joined[person] <= month < left[person] and (index < 0 or active[index]):
                cells.append(cell)
        present = self.steady + [person for person in self.movers if joined[person] <= month < left[person]]
        return present or list(range(len(self.emails))), cells

