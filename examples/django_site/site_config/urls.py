import blog.views
import shop.views
from django.conf import settings
from django.conf.urls.static import static
from django.urls import path

urlpatterns = [
    path("", blog.views.index, name="blog"),
    path("shop/", shop.views.index, name="shop"),
]
# Development only (static() returns nothing when DEBUG is off): serve the local target.
urlpatterns += static(settings.ASSETS_URL, document_root=settings.ASSETS_DIR)
