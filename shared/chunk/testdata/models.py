"""Models for the fixture."""
import dataclasses
from typing import Optional

DEFAULT_NAME = "anon"


@dataclasses.dataclass
class User:
    """A user of the service."""

    name: str = DEFAULT_NAME
    email: Optional[str] = None

    @property
    def display(self) -> str:
        """The name shown in the UI."""
        return self.name.title()

    def greet(self, other: "User") -> str:
        return f"Hello {other.display}, I am {self.display}"


def load(rows):
    # One user per row; rows without a name get the default.
    users = []
    for row in rows:
        if not row.get("name"):
            row["name"] = DEFAULT_NAME
        users.append(User(**row))
    return users
