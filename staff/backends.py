"""Authentication backend: Django's ModelBackend, reading a user, their permissions and their
number scope in one statement."""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connections

from staff.models import StaffProfile

# How each database we run on joins strings in an aggregate (settings allows these two).
STRING_AGG = {"postgresql": "string_agg", "sqlite": "group_concat"}
# Between two "app_label.codename" names in the aggregate: a codename is an identifier.
SEPARATOR = "\n"


class OneQueryModelBackend(ModelBackend):
    """Every staff page checks permissions, and an open inbox page polls every
    INBOX_POLL_SECONDS: Django's backend reads the user, then their own permissions, then
    their groups' (three statements). Here `get_user`, which loads the user of a session on
    every request, reads the user, the names of every permission granted to them, directly
    or through a group, and the business numbers their profile limits them to (the number
    scope every inbox query narrows on: StaffProfile.objects.number_scope) in one statement
    (`Manager.raw()`); a user loaded any other way has their permissions read by the same
    statement on first use, and their scope by a query of its own. Either way they are kept
    on the user object for the request, as Django keeps them, and read afresh on the next: a
    permission granted, a group or a number changed counts from the next request, with
    nothing to invalidate.

    The statement is written once as SQL from the models' table and column names rather than
    built by the ORM on each request: compiling the ORM's version (a StringAgg subquery) cost
    more than running it (docs/benchmarks.md: "Conversation page and poll", and "Auth backend
    on Django's public API" for the alternatives measured)."""

    def get_user(self, user_id):
        user_model = get_user_model()
        user = load_user(user_model._meta.pk.to_python(user_id))
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            # Every permission, as Django's backend answers for a superuser.
            rows = Permission.objects.values_list("content_type__app_label", "codename")
            return {f"{app_label}.{codename}" for app_label, codename in rows}
        if not hasattr(user_obj, "granted_permissions"):
            loaded = load_user(user_obj.pk)
            user_obj.granted_permissions = loaded.granted_permissions if loaded else set()
        return user_obj.granted_permissions


def load_user(user_id):
    """The user with this id, with `granted_permissions`: the "app_label.codename" names of
    the permissions granted to them, directly or through a group, and their number scope
    kept (StaffProfile.objects.keep_scope); None if there is none."""
    manager = get_user_model()._default_manager
    sql = user_sql(manager.db)
    params = [SEPARATOR, user_id, user_id, SEPARATOR, user_id, user_id]
    user = next(iter(manager.raw(sql, params)), None)
    if user is not None:
        names, numbers = user.permission_names, user.number_ids
        user.granted_permissions = set(names.split(SEPARATOR)) if names else set()
        StaffProfile.objects.keep_scope(
            user, (int(pk) for pk in numbers.split(SEPARATOR)) if numbers else ()
        )
    return user


@cache
def user_sql(alias):
    """A user's row with `permission_names`, the names of their permissions, and
    `number_ids`, the ids of the numbers their profile lists, each joined by a separator;
    the parameters: the separator and the user's id twice (permissions), the separator and
    the id (numbers), the id (the row)."""
    connection = connections[alias]
    quote = connection.ops.quote_name

    def column(meta, name):
        return quote(meta.get_field(name).column)

    user_meta = get_user_model()._meta
    permission = Permission._meta
    content_type = permission.get_field("content_type").related_model._meta
    own = user_meta.get_field("user_permissions").remote_field.through._meta
    groups = user_meta.get_field("groups").remote_field.through._meta
    group = groups.get_field("group").related_model._meta
    group_permissions = group.get_field("permissions").remote_field.through._meta
    columns = ", ".join(
        f"u.{quote(field.column)}"
        for field in user_meta.get_fields()
        if field.concrete and not field.many_to_many
    )
    name = f"ct.{column(content_type, 'app_label')} || '.' || p.{column(permission, 'codename')}"
    # The ids granted directly or through a group, from the user's id as a parameter, not
    # the outer row's column: PostgreSQL would run that subquery again for every permission
    # (7 ms instead of 0.2).
    granted_ids = (
        f"SELECT {column(own, 'permission')} FROM {quote(own.db_table)} "  # noqa: S608
        f"WHERE {column(own, 'user')} = %s "
        f"UNION SELECT gp.{column(group_permissions, 'permission')} "
        f"FROM {quote(group_permissions.db_table)} gp JOIN {quote(groups.db_table)} ug "
        f"ON ug.{column(groups, 'group')} = gp.{column(group_permissions, 'group')} "
        f"WHERE ug.{column(groups, 'user')} = %s"
    )
    profile = StaffProfile._meta
    numbers = profile.get_field("numbers").remote_field.through._meta
    number = f"CAST(n.{column(numbers, 'businessnumber')} AS TEXT)"
    # Only quoted names from the models go into the text; values are parameters.
    return (
        f"SELECT {columns}, (SELECT {STRING_AGG[connection.vendor]}({name}, %s) "  # noqa: S608
        f"FROM {quote(permission.db_table)} p JOIN {quote(content_type.db_table)} ct "
        f"ON ct.{quote(content_type.pk.column)} = p.{column(permission, 'content_type')} "
        f"WHERE p.{quote(permission.pk.column)} IN ({granted_ids})) AS permission_names, "
        f"(SELECT {STRING_AGG[connection.vendor]}({number}, %s) "
        f"FROM {quote(numbers.db_table)} n JOIN {quote(profile.db_table)} sp "
        f"ON sp.{quote(profile.pk.column)} = n.{column(numbers, 'staffprofile')} "
        f"WHERE sp.{column(profile, 'user')} = %s) AS number_ids "
        f"FROM {quote(user_meta.db_table)} u WHERE u.{quote(user_meta.pk.column)} = %s"
    )
