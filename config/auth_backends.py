"""Authentication backends."""

from functools import cache, partial

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connection


class OneQueryModelBackend(ModelBackend):
    """Django's ModelBackend, reading a user and their permissions in one query.

    Every staff page checks permissions, and an open inbox page polls every
    INBOX_POLL_SECONDS: Django's backend reads the user, then their own permissions, then
    their groups' (three queries). Here `get_user`, which loads the user of a session on every
    request, reads the user with their own and groups' permissions in one statement; a user
    loaded any other way has them read by the same statement. Either way they are cached on
    the user object for the request, as Django caches them.

    The statement is written once as SQL from the models' table and column names (user_sql)
    rather than built by the ORM on each request: compiling the ORM's version cost more than
    running it (docs/benchmarks.md, "Conversation page and poll")."""

    def get_user(self, user_id):
        user_model = get_user_model()
        rows, width = user_rows(user_model._meta.pk.to_python(user_id))
        if not rows:
            return None
        values = [
            convert(value, connection)
            for convert, value in zip(field_converters(), rows[0][:width], strict=True)
        ]
        user = user_model.from_db(connection.alias, user_sql()[1], values)
        if not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:
            # A superuser has every permission, which Django answers without asking.
            user._perm_cache = granted(rows, width)
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                rows = Permission.objects.values_list("content_type__app_label", "codename")
                user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
            else:
                user_obj._perm_cache = granted(*user_rows(user_obj.pk))
        return user_obj._perm_cache


def user_rows(user_id):
    """user_sql's rows for this user, and how many of their columns are the user's."""
    sql, fields = user_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id] * 3)
        return cursor.fetchall(), len(fields)


def granted(rows, width):
    """The "app_label.codename" permissions in user_sql's rows: a user without any has one
    row, with nulls there."""
    return {f"{row[width]}.{row[width + 1]}" for row in rows if row[width] is not None}


@cache
def field_converters():
    """For each of the user's fields in user_sql, what turns its database value into Python
    (as the ORM does: SQLite returns dates as text, for one)."""
    user_meta = get_user_model()._meta
    converters = []
    for field in user_meta.concrete_fields:
        expression = field.get_col(user_meta.db_table)
        steps = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
        converters.append(partial(apply_converters, steps, expression))
    return converters


def apply_converters(steps, expression, value, connection):
    for step in steps:
        value = step(value, expression, connection)
    return value


@cache
def user_sql():
    """A user with each of their permissions: (SQL, the user's field names); a row per
    permission, the user's columns then app label and codename; the user's id three times as
    parameters."""
    quote = connection.ops.quote_name
    user_meta = get_user_model()._meta
    permission = Permission._meta
    content_type = permission.get_field("content_type").related_model._meta
    fields = [field.attname for field in user_meta.concrete_fields]
    columns = ", ".join(f"u.{quote(field.column)}" for field in user_meta.concrete_fields)
    # Only quoted names from the models go into the text; the user's id is a parameter.
    return (
        f"SELECT {columns}, ct.{column(content_type, 'app_label')}, "  # noqa: S608
        f"p.{column(permission, 'codename')} "
        f"FROM {quote(user_meta.db_table)} u "
        f"LEFT JOIN {quote(permission.db_table)} p "
        f"ON p.{quote(permission.pk.column)} IN ({granted_ids_sql()}) "
        f"LEFT JOIN {quote(content_type.db_table)} ct "
        f"ON ct.{quote(content_type.pk.column)} = p.{column(permission, 'content_type')} "
        f"WHERE u.{quote(user_meta.pk.column)} = %s"
    ), fields


def granted_ids_sql():
    """The ids of the permissions granted to a user, directly or through a group; the user's
    id twice as parameters (not the outer query's column: PostgreSQL would run the subquery
    again for every permission, 7 ms instead of 0.2)."""
    quote = connection.ops.quote_name
    user_meta = get_user_model()._meta
    own = user_meta.get_field("user_permissions").remote_field.through._meta
    groups = user_meta.get_field("groups").remote_field.through._meta
    group_permissions = (
        groups.get_field("group")
        .related_model._meta.get_field("permissions")
        .remote_field.through._meta
    )
    return (
        f"SELECT {column(own, 'permission')} FROM {quote(own.db_table)} "  # noqa: S608
        f"WHERE {column(own, 'user')} = %s "
        f"UNION SELECT gp.{column(group_permissions, 'permission')} "
        f"FROM {quote(group_permissions.db_table)} gp "
        f"JOIN {quote(groups.db_table)} ug "
        f"ON ug.{column(groups, 'group')} = gp.{column(group_permissions, 'group')} "
        f"WHERE ug.{column(groups, 'user')} = %s"
    )


def column(meta, name):
    return connection.ops.quote_name(meta.get_field(name).column)
