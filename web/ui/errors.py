"""Error pages in Swedish for the browser (the API keeps its JSON errors)."""

from __future__ import annotations

from flask import render_template

MESSAGES = {
    400: ("Felaktig begäran", "Begäran kunde inte tolkas. Kontrollera uppgifterna och försök igen."),
    403: ("Behörighet saknas", "Din roll ger inte tillgång till den här sidan."),
    404: ("Sidan finns inte", "Sidan du sökte finns inte, eller så har du inte tillgång till den."),
    405: ("Metoden stöds inte", "Sidan kan inte användas på det sättet."),
    413: ("För stor begäran", "Det du skickade var för stort."),
    429: ("För många försök", "Du har gjort för många försök. Vänta en stund och försök igen."),
    503: ("Tjänsten är tillfälligt otillgänglig", "En bakomliggande tjänst svarar inte. Inget har registrerats. "
                                                  "Försök igen om en stund."),
}


def html_error(error):
    code = getattr(error, "code", 500) or 500
    title, text = MESSAGES.get(code, ("Något gick fel", "Ett oväntat fel inträffade. Försök igen senare."))
    return render_template("ui/error.html", title=title, text=text, code=code), code
