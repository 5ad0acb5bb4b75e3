"""Who a signed-in person is, and what their role and regions let them see.

    qa        ordinary calls of their regions
    security  also security (P1) tickets and their briefs
    admin     what security sees, plus managing users, the audit log, legal holds and deletion

Regions are region codes (`us`, `gb`) or `*` for every region. A refusal names its reason; the
caller of these checks records it in the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass

from ivr.errors import AccessRefused

ROLES = ("qa", "security", "admin")
EVERY_REGION = "*"
SECURITY_PRIORITY = "P1"  # the priority the security path gives its tickets (flows/steps/security.yaml)


@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str
    role: str
    regions: tuple[str, ...]  # or (EVERY_REGION,)

    @property
    def every_region(self) -> bool:
        return EVERY_REGION in self.regions

    @property
    def sees_security(self) -> bool:
        return self.role in ("security", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees_region(self, region: str | None) -> bool:
        return self.every_region or (region is not None and region in self.regions)

    def regions_label(self) -> str:
        return "every region" if self.every_region else ", ".join(self.regions)


def is_security(priority: str | None) -> bool:
    return priority == SECURITY_PRIORITY


def check_call(reviewer: Reviewer, region: str | None, priority: str | None, target: str) -> None:
    """Raise AccessRefused unless the reviewer may see a call of this region and ticket priority."""
    if not reviewer.sees_region(region):
        raise AccessRefused(f"region {region or 'none'} is not one of {reviewer.name}'s regions", target)
    if is_security(priority) and not reviewer.sees_security:
        raise AccessRefused("a security ticket: only the security and admin roles see these", target)


def check_admin(reviewer: Reviewer, target: str) -> None:
    if not reviewer.is_admin:
        raise AccessRefused(f"only admins may do this ({reviewer.name} is {reviewer.role})", target)


def check_call_row(reviewer: Reviewer, call) -> None:
    """check_call for a Call row (with its ticket)."""
    check_call(reviewer, call.region, call.ticket.priority if call.ticket else None, f"call:{call.id}")
