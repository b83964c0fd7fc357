from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView


class Protected(APIView):
    def get(self, request):
        return Response("ok")


urlpatterns = [
    path("protected/", Protected.as_view()),
    path("api/token/", TokenObtainPairView.as_view()),
]
