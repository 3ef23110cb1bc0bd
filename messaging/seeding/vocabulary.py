"""What the fake data is made of: names, what customers write and staff answer, captions,
files, places, buttons, templates, failures, and how often each kind of message occurs."""

ARABIC_FIRST = ["أمينة", "محمد", "فاطمة", "عمر", "خديجة", "يوسف", "مريم", "أحمد", "نور",
                "سلمى", "خالد", "ليلى", "حسن", "زينب", "إبراهيم", "هدى", "طارق", "رانيا", "سامي",
                "عائشة"]  # fmt: skip
ARABIC_LAST = ["الحربي", "العتيبي", "حداد", "خليل", "منصور", "النجار", "السيد", "القحطاني",
               "الشمري", "عبد الله", "الزهراني", "يوسف", "سليمان", "الأنصاري"]  # fmt: skip
ENGLISH_FIRST = ["John", "Sarah", "David", "Emma", "James", "Olivia", "Ahmed", "Layla", "Daniel",
                 "Grace", "Omar", "Hannah", "Samuel", "Aisha", "Peter", "Ruth"]  # fmt: skip
ENGLISH_LAST = ["Carter", "Smith", "Khan", "Brown", "Haddad", "Taylor", "Wilson", "Patel",
                "Hughes", "Mansour", "Evans", "Clarke"]  # fmt: skip
USERNAMES = ["reader", "books", "qalam", "noor", "student", "teacher", "calligraphy", "maktaba"]

# What customers write, and what staff answer. A few words recur at known rates so that the
# benchmark's message search has something to find (see bench/run.py): "refund", "invoice",
# "الشحن" (shipping), "الكتاب" (the book).
ARABIC_IN = [
    "السلام عليكم، متى يصل طلبي؟",
    "طلبت الكتاب الأسبوع الماضي ولم يصل بعد. رقم الطلب {order}",
    "هل يمكنني تغيير عنوان التوصيل؟",
    "شكراً جزيلاً على المساعدة 🌹",
    "كم تكلفة الشحن إلى جدة؟",
    "هل ورشة الخط العربي ما زالت متاحة للتسجيل؟",
    "أريد استرجاع المبلغ، الكتاب وصل تالفاً",
    "هل عندكم نسخة إلكترونية من الكتاب؟",
    "متى تفتحون يوم الجمعة؟",
    "أرسلت لكم صورة الإيصال",
    "الطلب رقم {order} وصل، جزاكم الله خيراً",
    "هل يوجد خصم للطلاب؟",
    "ما هي طرق الدفع المتاحة؟",
    "أحتاج فاتورة باسم المدرسة من فضلكم",
    "لم أستلم رسالة التأكيد",
    "هل يمكن الشحن إلى الأردن؟",
    "تمام، شكراً",
    "ممكن رقم التتبع؟",
]
ENGLISH_IN = [
    "Hi! Is my order on its way?",
    "Hello, I ordered a book last week and it has not arrived. Order {order}",
    "Can I change the delivery address?",
    "Thanks for the quick answer 🙏",
    "Do you ship to the UK? It's a gift for Friday.",
    "I would like a refund please, the cover was damaged",
    "Could you send me the invoice for order {order}?",
    "Is the Arabic calligraphy workshop still open for registration?",
    "What time do you open on Saturday?",
    "Here is the receipt",
    "Got it, thank you!",
    "Do you have a student discount?",
    "Which payment methods do you accept?",
    "The tracking link does not work",
    "Can I pick it up from the shop instead?",
    "ok 👍",
    "Is the second volume in stock?",
    "My school needs 30 copies, is there a bulk price?",
]
ARABIC_OUT = [
    "وعليكم السلام، سنتحقق من طلبك ونعود إليك حالاً.",
    "تم شحن طلبك اليوم، رقم التتبع {order}.",
    "نعم، يمكن تغيير العنوان قبل الشحن. أرسل لنا العنوان الجديد من فضلك.",
    "العفو، في خدمتك دائماً 🌹",
    "تكلفة الشحن داخل المملكة ٢٥ ريالاً.",
    "نعم، التسجيل مفتوح حتى يوم الخميس.",
    "نعتذر عن ذلك، سنرسل لك نسخة جديدة من الكتاب.",
    "أرسلنا لك الفاتورة على البريد الإلكتروني.",
    "نفتح يوم الجمعة من الرابعة عصراً.",
]
ENGLISH_OUT = [
    "Thanks for your message! Let me check your order.",
    "Your order was shipped today, tracking number {order}.",
    "Yes, we ship to the UK: 3-5 working days.",
    "You're welcome! 😊",
    "We're sorry about that: we have issued a refund, it takes 3-5 days.",
    "I've attached the invoice to this conversation.",
    "Registration closes on Thursday.",
    "We open at 10:00 on Saturdays.",
    "Yes, there is a 10% student discount with a valid card.",
]
CAPTIONS_AR = ["صورة الإيصال", "الغلاف التالف", "هذا الكتاب", ""]
CAPTIONS_EN = ["Receipt", "The damaged cover", "This one please", ""]
DOCUMENTS = ["invoice-{order}.pdf", "order-{order}.pdf", "school-list.xlsx", "receipt.pdf"]
EMOJIS = ["👍", "❤️", "🙏", "😂", "😮", "🌹"]
PLACES = [
    (24.7136, 46.6753, "الرياض", "طريق الملك فهد، الرياض"),
    (21.4858, 39.1925, "جدة", "شارع التحلية، جدة"),
    (30.0444, 31.2357, "القاهرة", "وسط البلد، القاهرة"),
    (51.5072, -0.1276, "Delivery address", "10 Example Street, London"),
    (31.9539, 35.9106, "عمّان", "جبل عمّان، عمّان"),
]
BUTTONS = [("yes", "Yes, confirm"), ("no", "No, change it"), ("agent", "Talk to someone")]
TEMPLATES = {
    "en": ("order_update", "Your order {order} is on its way. Reply here if you need help."),
    "ar": ("order_update", "طلبك {order} في الطريق إليك. راسلنا هنا إن احتجت إلى مساعدة."),
}
FAILURES = [
    (131026, "Message undeliverable", "Unable to deliver message."),
    (131047, "Re-engagement message",
     "More than 24 hours have passed since the customer last replied to this number."),
]  # fmt: skip
# Countries of the contacts' phone numbers, with weights.
COUNTRIES = [("966", "SA", 40), ("20", "EG", 20), ("971", "AE", 10), ("962", "JO", 10),
             ("44", "GB", 10), ("1", "US", 10)]  # fmt: skip
# Inbound message types and their shares (reactions only where there is something to react to).
INBOUND_TYPES = [("text", 780), ("image", 70), ("document", 30), ("audio", 30), ("reaction", 35),
                 ("location", 15), ("sticker", 15), ("interactive", 15)]  # fmt: skip
OUTBOUND_TYPES = [("text", 970), ("template", 30)]
MIME = {"image": "image/jpeg", "document": "application/pdf", "audio": "audio/ogg; codecs=opus",
        "sticker": "image/webp"}  # fmt: skip
SENT_PRICING = {"billable": False, "pricing_model": "PMP", "category": "service",
                "type": "free_customer_service"}  # fmt: skip
