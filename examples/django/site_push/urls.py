from django.contrib.auth import views as auth_views
from django.urls import path

from notes import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="notes/login.html"), name="login"),
    path("octoway/auth", views.octoway_auth, name="octoway-auth"),
    path("broadcast/", views.broadcast, name="broadcast"),
]
