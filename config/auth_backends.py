"""Authentication backends."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class OneQueryModelBackend(ModelBackend):
    """Django's ModelBackend, reading a user's own and group permissions in one query (a
    UNION) instead of two: every staff page checks permissions, and an open inbox page polls
    every INBOX_POLL_SECONDS. The result is cached on the user object for the request, as
    Django caches it."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            names = ("content_type__app_label", "codename")
            # Unordered: Permission's default ordering cannot apply to a UNION's columns.
            permissions = Permission.objects.order_by()
            if user_obj.is_superuser:
                rows = permissions.values_list(*names)
            else:
                own = permissions.filter(user=user_obj).values_list(*names)
                groups = permissions.filter(group__user=user_obj).values_list(*names)
                rows = own.union(groups).order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
