from django.shortcuts import render

PRODUCTS = [{"name": "Mug", "price": "9.00"}, {"name": "Poster", "price": "15.00"}]


def index(request):
    return render(request, "shop/index.html", {"products": PRODUCTS})
