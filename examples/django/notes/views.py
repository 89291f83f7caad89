from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from .push import organization, push


@require_GET
def octoway_auth(request):
    """WS_AUTH_URL: Octoway forwards the browser's cookies here on every WebSocket upgrade; Django's
    own session middleware reads them. 401 when nobody is logged in, else the user in Goctopus's
    shape, which Octoway's default exporter maps to the keys email and organization_name."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"detail": "not logged in"}, status=401)
    return JsonResponse({"user": {"email": user.email, "organization_name": organization(user)}})


@login_required
def home(request):
    return render(request, "notes/home.html", {"ws_url": settings.OCTOWAY_WS_URL})


@login_required
@require_POST
def broadcast(request):
    """Publishing from a view: a message to everyone in the user's organisation."""
    org = organization(request.user)
    if org is None:
        return JsonResponse({"detail": "no organisation"}, status=400)
    answer = push(org, {"type": "broadcast", "from": request.user.email, "text": request.POST.get("text", "")}, expire="5m")
    return JsonResponse({"published": answer is not None, "answer": answer}, status=200 if answer else 502)
