from django.shortcuts import render

from hashstore.django import asset_url

POSTS = [
    {"title": "Immutable URLs", "body": "Every asset URL names its bytes."},
    {"title": "Manifest last", "body": "Objects first, release record next, manifest last."},
]


def index(request):
    # asset_url() gives Python code the same (absolute, with a CDN) URL as {% static %}.
    return render(
        request, "blog/index.html", {"posts": POSTS, "og_image": asset_url("blog/img/header.png")}
    )
