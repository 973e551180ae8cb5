"""
Who the owners are: the owner ids the credentials name, their display
names and e-mail addresses.

ACLs need it: a grant to C{id="..."} must name an owner that exists
(S3's C{InvalidArgument: Invalid id}), a grant by e-mail address is
resolved to its owner's id (C{UnresolvableGrantByEmailAddress} when no
owner has it), and GetBucketAcl shows display names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from txs3.auth.types import Secret


@dataclass
class Directory:
    """
    Owner ids to display names, and lower-case e-mail addresses to owner
    ids.  The empty directory knows nobody.  A running server's directory
    is replaced in place when its keys are reloaded (L{replace}), so the
    site keeps one object.
    """

    names: Mapping[str, str] = field(default_factory=dict)
    emails: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, secrets: Iterable[Secret]) -> Directory:
        """
        The directory of these keys.  An owner's display name is that of
        its first key; an address given on several keys of different
        owners belongs to the first.
        """
        names: dict[str, str] = {}
        emails: dict[str, str] = {}
        for secret in secrets:
            names.setdefault(secret.owner_id, secret.display_name)
            if secret.email is not None:
                emails.setdefault(secret.email.lower(), secret.owner_id)
        return cls(names, emails)

    def replace(self, other: Directory) -> None:
        """Take C{other}'s owners and addresses."""
        self.names = other.names
        self.emails = other.emails

    def exists(self, owner_id: str) -> bool:
        """Whether C{owner_id} is an owner some key belongs to."""
        return owner_id in self.names

    def display_name(self, owner_id: str) -> str | None:
        """The display name of C{owner_id}, if known."""
        return self.names.get(owner_id)

    def owner_of_email(self, address: str) -> str | None:
        """The owner id with e-mail C{address} (any case), or None."""
        return self.emails.get(address.lower())
