"""Staff for tests: permissions granted by codename, as a role or an administrator would."""

from django.contrib.auth.models import Permission


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # a fresh instance: permissions are cached
