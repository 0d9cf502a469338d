# Generated Graph user resources for a directory (learn.microsoft.com/graph/api/resources/user:
# the default properties of a list, plus a few $select-able ones). Lower than every surface.
from __future__ import annotations

from typing import Any

from emulator.seed import stable_id

_FIRST = ("Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia",
          "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep")  # fmt: skip
_LAST = ("Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lauer", "Sherman", "Gu", "Holloway",
         "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta")  # fmt: skip
_JOBS = ("Retail Manager", "Marketing Assistant", "HR Manager", "Developer", "Product Manager", None)


def seed_users(
    count: int, domain: str, tenant_id: str | None = None, company: str = "Contoso Emulated"
) -> list[dict[str, Any]]:
    """`count` users on `domain`; ids are stable per tenant (the home tenant's: `user:{index}`)."""
    users = []
    for index in range(count):
        first, last = _FIRST[index % len(_FIRST)], _LAST[(index // len(_FIRST)) % len(_LAST)]
        upn = f"{first.lower()}.{last.lower()}{index}@{domain}"
        users.append(
            {
                "id": stable_id(f"user:{index}" if tenant_id is None else f"user:{tenant_id}:{index}"),
                "businessPhones": [f"+1 425 555 {index:04d}"] if index % 3 else [],
                "displayName": f"{first} {last}",
                "givenName": first,
                "jobTitle": _JOBS[index % len(_JOBS)],
                "mail": upn,
                "mobilePhone": None,
                "officeLocation": f"{10 + index % 30}/{1000 + index}",
                "preferredLanguage": "en-US",
                "surname": last,
                "userPrincipalName": upn,
                "accountEnabled": index % 17 != 0,
                "department": ("Sales", "Engineering", "Finance", "Operations")[index % 4],
                "companyName": company,
                "usageLocation": "US",
                "userType": "Member",
                "createdDateTime": f"2024-01-{1 + index % 28:02d}T08:00:00Z",
            }
        )
    return users
