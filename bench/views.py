from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from staff.security import open_to_internet


@csrf_exempt
@login_not_required
@open_to_internet
def bare(request):
    """The baseline: what any Django view costs on this server with these settings (every
    middleware, the same decorators as the webhook), reading the same body and answering the
    same "OK", but with no signature check and no database."""
    request.read()
    return HttpResponse("OK", content_type="text/plain")
