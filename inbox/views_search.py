"""Search inside the open conversation: the messages a term finds, for search.js to step
through (the list's search is inbox.views.index with its filters)."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from inbox import search
from inbox.views import get_conversation
from messaging.db import db_safe
from staff.permissions import view_required


@view_required
@require_GET
def find_in_conversation(request, pk):
    """{"messages": element ids newest first, "more": whether there are more than those}."""
    conversation = get_conversation(request, pk)
    q = db_safe(request.GET.get("q", "")).strip()[:100]
    found = search.matches_in(conversation, q) if q else []
    return JsonResponse(
        {
            "messages": [f"m-{pk}" for pk in found[: search.FOUND_LIMIT]],
            "more": len(found) > search.FOUND_LIMIT,
        }
    )
