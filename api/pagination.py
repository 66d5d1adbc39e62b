from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`?page=2&page_size=100`: 50 per page unless asked, 200 at most. The
    answer says how many there are and links the next and previous pages."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
