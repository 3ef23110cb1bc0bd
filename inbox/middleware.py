from django.core.exceptions import PermissionDenied


def staff_not_required(view_func):
    """Let any signed-in user reach this view, not only staff (e.g. to sign out)."""
    view_func.staff_required = False
    return view_func


class StaffRequiredMiddleware:
    """Everything that needs a login also needs an active staff account.

    Runs after LoginRequiredMiddleware, so views it lets through unauthenticated (marked with
    login_not_required) are public and skipped here too. A user who lost is_staff after
    signing in is refused on their next request, not only at the next login.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return
        if not getattr(view_func, "staff_required", True):
            return
        user = request.user
        if user.is_authenticated and not (user.is_active and user.is_staff):
            raise PermissionDenied
        return
