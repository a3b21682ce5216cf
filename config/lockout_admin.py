"""django-axes' lockout records in the admin, with its one write ("Clean up expired attempts") behind the delete
permission: as shipped, every staff user who may view the attempts may also delete them."""

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


class GuardedAccessAttemptAdmin(AccessAttemptAdmin):
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> Any:
        return super().cleanup_expired_attempts(request, queryset)


def guard_lockout_admin(site: admin.AdminSite) -> None:
    """Replace axes' registration (made when the admin autodiscovers, if AXES_ENABLE_ADMIN) by the guarded one."""
    if site.is_registered(AccessAttempt):
        site.unregister(AccessAttempt)
        site.register(AccessAttempt, GuardedAccessAttemptAdmin)
