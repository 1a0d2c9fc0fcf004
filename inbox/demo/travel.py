"""travel-agent: books a flight, then (once the flight is booked) a hotel; each booking waits
for a review. The hotel may be ignored (the traveller sorts out their own stay)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from engine.prebuilt import ScriptedModel, create_tool_agent
from inbox.demo.kit import Outbox, eur, intent, last_tool_result, reference, reviewed, tool_call, user_message

NAME = "travel-agent"
TITLE = "Book travel (flight, then hotel)"
REQUESTERS = ("maria.keller@northwind.example", "tom.hansen@northwind.example",
              "aylin.demir@northwind.example", "sofia.ricci@northwind.example")

# city, airport, hotels (name, nightly rate in EUR), airlines flying there
DESTINATIONS = [
    ("Lisbon", "LIS", [("Hotel Avenida Palace", 214.0), ("Memmo Alfama", 189.0)], ["TP", "LH"]),
    ("Barcelona", "BCN", [("Hotel Casa Fuster", 265.0), ("Praktik Rambla", 132.0)], ["VY", "LH"]),
    ("Amsterdam", "AMS", [("Pulitzer Amsterdam", 329.0), ("Hotel V Nesplein", 174.0)], ["KL", "LH"]),
    ("Copenhagen", "CPH", [("Hotel Sanders", 348.0), ("Absalon Hotel", 161.0)], ["SK", "LH"]),
    ("Vienna", "VIE", [("Hotel Sacher Wien", 412.0), ("Hotel Daniel Vienna", 139.0)], ["OS", "LH"]),
    ("London", "LHR", [("The Hoxton, Holborn", 281.0), ("citizenM Tower of London", 198.0)], ["BA", "LH"]),
    ("Stockholm", "ARN", [("Hotel Skeppsholmen", 296.0), ("Hobo Hotel", 143.0)], ["SK", "LH"]),
    ("Milan", "LIN", [("Hotel Milano Scala", 238.0), ("Room Mate Giulia", 205.0)], ["AZ", "LH"]),
]
ORIGINS = [("Frankfurt", "FRA"), ("Munich", "MUC"), ("Berlin", "BER"), ("Zurich", "ZRH")]
PURPOSES = ["customer workshop", "quarterly business review", "conference talk", "partner onboarding",
            "team offsite"]
TRAVELLERS = ["Maria Keller", "Tom Hansen", "Aylin Demir", "Sofia Ricci", "Jonas Weber", "Léa Martin"]
CABINS = ["economy", "economy", "economy", "premium_economy", "business"]


def initial_input(rng: random.Random) -> dict:
    city, airport, hotels, airlines = rng.choice(DESTINATIONS)
    origin_city, origin = rng.choice(ORIGINS)
    hotel, rate = rng.choice(hotels)
    depart = date(2025, 4, 1) + timedelta(days=rng.randrange(0, 60))
    nights = rng.choice([1, 2, 2, 3, 4])
    traveller = rng.choice(TRAVELLERS)
    purpose = rng.choice(PURPOSES)
    cabin = rng.choice(CABINS)
    fare = round(rng.uniform(140, 480) * (2.6 if cabin == "business" else 1.4 if cabin != "economy" else 1), 2)
    flight = f"{rng.choice(airlines)} {rng.randrange(100, 2000)}"
    departure = f"{depart.isoformat()}T{rng.choice(['06:45', '08:15', '10:30', '13:05', '17:40'])}"
    text = (f"Book {traveller} on a flight from {origin_city} to {city} on {depart:%d %b %Y} for the "
            f"{purpose}, and a hotel there for {nights} night{'s' if nights > 1 else ''}.")
    return {"messages": [user_message(
        text,
        flight={"flight_number": flight, "origin": origin, "destination": airport, "departure": departure,
                "passenger": traveller, "cabin": cabin, "fare_eur": fare},
        hotel={"hotel_name": hotel, "city": city, "check_in": depart.isoformat(), "nights": nights,
               "guests": 1, "rate_eur": rate},
    )]}


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def book_flight(flight_number: str, origin: str, destination: str, departure: str, passenger: str,
                    cabin: str = "economy", fare_eur: float = 0.0) -> str:
        """Book a seat on a scheduled flight and issue the e-ticket."""
        args = dict(flight_number=flight_number, origin=origin, destination=destination, departure=departure,
                    passenger=passenger, cabin=cabin, fare_eur=fare_eur)
        pnr = reference("PNR", flight_number, departure, passenger)
        return outbox.record("book_flight", args,
                             f"Booked flight {flight_number} {origin}→{destination} departing {departure} "
                             f"for {passenger} ({cabin}, {eur(fare_eur)}). Booking {pnr}, e-ticket sent.")

    def book_hotel(hotel_name: str, city: str, check_in: str, nights: int = 1, guests: int = 1,
                   rate_eur: float = 0.0) -> str:
        """Reserve hotel rooms; the rate is per night."""
        args = dict(hotel_name=hotel_name, city=city, check_in=check_in, nights=nights, guests=guests,
                    rate_eur=rate_eur)
        confirmation = reference("HTL", hotel_name, check_in, nights)
        return outbox.record("book_hotel", args,
                             f"Booked {nights} night(s) at {hotel_name}, {city} from {check_in} for "
                             f"{guests} guest(s), {eur(rate_eur * nights)} total. Confirmation {confirmation}.")

    def describe_flight(a: dict) -> str:
        return (f"**Flight booking** for {a['passenger']}: {a['flight_number']} "
                f"{a['origin']} → {a['destination']}, departing {a['departure'].replace('T', ' ')}, "
                f"{a.get('cabin', 'economy').replace('_', ' ')}, **{eur(a.get('fare_eur', 0))}**.\n\n"
                "Check before accepting:\n"
                "- the date matches the trip request\n"
                "- the cabin fits the travel policy (economy within Europe unless approved)\n\n"
                "Edit to change the flight or cabin; respond to send the agent back with a note.")

    def describe_hotel(a: dict) -> str:
        nights = int(a.get("nights", 1))
        total = float(a.get("rate_eur", 0)) * nights
        return (f"**Hotel** {a['hotel_name']} in {a['city']}: {nights} night(s) from {a['check_in']}, "
                f"{eur(float(a.get('rate_eur', 0)))}/night, **{eur(total)} total**.\n\n"
                "The policy cap is €250 per night in most cities. Ignore this if the traveller "
                "books their own stay.")

    flight_tool = reviewed(book_flight, describe=describe_flight)
    hotel_tool = reviewed(book_hotel, describe=describe_hotel, ignore=True)

    def propose_flight(messages):
        return {"content": "I found a flight that matches; booking it once you approve.",
                "tool_calls": [tool_call("call_flight", "book_flight", intent(messages)["flight"])]}

    def propose_hotel(messages):
        result = last_tool_result(messages)
        if not result.startswith("Booked flight"):
            return (f"I did not book the flight. The reviewer said: {result} "
                    "Tell me which flight to take and I'll start over.")
        return {"content": "Flight booked. Now the hotel.",
                "tool_calls": [tool_call("call_hotel", "book_hotel", intent(messages)["hotel"])]}

    def summarize(messages):
        return f"Trip arranged. {last_tool_result(messages)}"

    model = ScriptedModel([propose_flight, propose_hotel, summarize])
    graph = create_tool_agent(model, [flight_tool, hotel_tool], checkpointer=checkpointer, name=NAME)
    graph.outbox = outbox
    return graph
