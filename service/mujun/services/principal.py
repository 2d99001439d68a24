"""The caller of a service operation: who, in which role, over which regions (checked on every read and write)."""

from __future__ import annotations

from dataclasses import dataclass

from mujun.errors import PermissionDenied

__all__ = ["Principal"]


@dataclass(frozen=True)
class Principal:
    """The caller: ``regions`` None means every region (admin, or an unscoped token)."""

    actor: str
    role: str
    regions: frozenset[str] | None

    def may_see(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def require_region(self, region: str) -> None:
        if not self.may_see(region):
            raise PermissionDenied(f"{self.actor} ({self.role}) may not act on region {region or '<empty>'}; "
                                   f"its regions are {', '.join(sorted(self.regions or ())) or 'none'}",
                                   location=f"regions/{region}")

    def require_all_regions(self, what: str) -> None:
        if self.regions is not None:
            raise PermissionDenied(f"{self.actor} is limited to regions {', '.join(sorted(self.regions))}; "
                                   f"{what} needs a token for every region")

    @property
    def visible(self) -> list[str] | None:
        """The regions a listing may show, sorted; None for every region."""
        return None if self.regions is None else sorted(self.regions)
