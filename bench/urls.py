"""The site's URLs plus the benchmark's baseline view (only under bench.settings)."""

from django.urls import path

from bench.views import bare
from config.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *site_urlpatterns]
