from django.urls import path

from privacy import views

urlpatterns = [
    path("", views.policy, name="privacy"),
]
