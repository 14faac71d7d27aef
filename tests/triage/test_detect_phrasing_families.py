"""Phrasing families found missing by the blind evaluation set (new example sentences)."""

from __future__ import annotations

import pytest

from bot.triage.detect import triage_rules as triage


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Chest, a few filler words, then the complaint; Hinglish too.
        ("seene mein dard hai since the injections", "emergency"),
        ("chest me thoda pressure lag raha hai", "emergency"),
        ("bro my chest is kind of hurting on the left", "emergency"),
        ("my chest feels really heavy and I'm clammy", "emergency"),
        ("cold sweats and shaky after my session", "urgent"),
        # Vision: chat spellings of "can't see", something dark IN the vision, losing vision.
        ("cnt see clearly out of my left eye", "emergency"),
        ("i cudnt see properly for a few minutes after the forehead meso", "emergency"),
        ("there's a black shadow in my vision since the forehead shots", "emergency"),
        ("a grey curtain came down over my right eye", "emergency"),
        ("I think I'm losing vision in my left eye", "emergency"),
        ("half of my vision is gone", "emergency"),
        # Red streaks or lines travelling from the site.
        ("red line spreading from the injection point towards my elbow", "urgent"),
        ("the redness is moving down my neck", "urgent"),
        # Fluid coming, leaking or oozing out of a spot; a smell from the spot.
        ("there's yellow stuff leaking out of one of the bumps", "urgent"),
        ("clear liquid keeps dripping from the injection site", "urgent"),
        ("the bump on my jaw smells bad", "urgent"),
        # Still escalated: back after going away, still there, getting worse, only partly better.
        ("the bruising went away and then came back", "urgent"),
        ("the lump healed but now it's back", "routine"),
        ("the bruise from last week is still there", "routine"),
        ("the bruise is almost gone now", "routine"),
        ("the swelling went down a bit but my cheek is still puffy", "routine"),
        # A passing emergency sign is never "resolved".
        ("my vision went blurry for a minute but it's fine now, it went away", "emergency"),
        ("I felt dizzy for a minute but it went away", "emergency"),
    ],
)
def test_the_family_escalates(text: str, severity: str) -> None:
    assert triage(text).severity == severity


@pytest.mark.parametrize(
    "text",
    [
        # Negation carries along an "or" list.
        "I haven't had any bruising or soreness",
        "do not have fever nor chills",
        "no redness or any swelling at all, thanks",
        # Past and over.
        "the bruise from my first session has healed, can I book the next one?",
        "had a rash last month but it cleared up within a week",
        "my cheek had some swelling but it is completely gone now",
        "got hives back in 2019 after a peel, should I mention it before meso?",
        # Not symptoms.
        "what fluid do you inject in meso",
        "can I sweat at the gym after meso",
        # English "warm" inside a word is not Arabizi "waram" (swollen).
        "my sister's housewarming is next week, can I have meso before it?",
        "such a heartwarming team, thank you",
        # A trait of someone else, not today's symptom.
        "she faints every time she sees blood, can she still have it?",
    ],
)
def test_the_family_does_not_escalate(text: str) -> None:
    assert triage(text).severity is None


def test_a_dark_patch_on_the_skin_stays_pigmentation() -> None:
    result = triage("I have a dark patch on my cheek after meso")
    assert [m.concept for m in result.mentions] == ["hyperpigmentation"]
    assert result.severity == "routine"


def test_a_negation_does_not_carry_past_and_into_a_new_clause() -> None:
    result = triage("I don't have fever and my lips are swelling")
    assert {m.concept: m.status for m in result.mentions} == {
        "fever": "negated",
        "lip_swelling": "affirmed",
    }
    assert result.severity == "emergency"


def test_a_resolved_cue_does_not_reach_across_a_comma() -> None:
    result = triage("there is a lump on my cheek, the bruising cleared up")
    assert {m.concept: m.status for m in result.mentions} == {
        "lump": "affirmed",
        "bruising": "historical",
    }


def test_my_does_not_keep_a_healed_symptom_current() -> None:
    assert triage("my bruise healed after a week").severity is None
    assert triage("my bruise is still there").severity == "routine"


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Figurative: a symptom word said of an everyday cause (new example sentences).
        ("honestly I can't breathe from all the workload this month, can we move my slot?", None),
        ("مو قادرة اتنفس من كثر الشغل، ابي اغير موعدي", None),
        ("rasi ydoor min kithr el bakat, aby a5tar wa7da", None),
        ("rate dekh ke hi sar ghoom gaya yaar, koi offer hai?", None),
        # ...but never for what a cause cannot explain away, or when tied to the treatment.
        ("I fainted at work today, had the face session this morning", "emergency"),
        ("I can't breathe properly since the injections, not from work", "emergency"),
        ("رجعت من الدوام وحسيت بدوخة بعد الجلسة", "emergency"),
        # A lifelong fear, not today's symptom; today's symptom still counts.
        ("I go dizzy at the sight of blood, since childhood. Do you use numbing cream?", None),
        ("من صغري اذا شفت الابر اصير ادوخ، عندكم مخدر؟", None),
        ("my son just fainted at the sight of the needle in your clinic", "emergency"),
        # Chest pain with words describing it in between; stroke signs in Arabizi.
        ("احس بألم شديد جدا في الصدر بعد الجلسة", "emergency"),
        ("3indi alam 8awi wayed fi 9adri ba3d el jalsa", "emergency"),
        ("umi ma3i fil sayyara, kalamha sar mo wadh7 w thimmha mayil", "emergency"),
        # Painful nodules weeks later; a fever reading after any owner of "7arara"; vomiting that
        # does not stop or is counted (round 8, new example sentences).
        ("بعد أسبوعين من الجلسة طلعت عقيدات تعورني في الفخذ", "urgent"),
        ("ba3d esboo3een 6al3at 3ugad tooja3ni fil ba6n", "urgent"),
        ("wildi 3indi hna, 7araratah 38.7 min el sob7", "urgent"),
        ("astafrigh min ams w ma ywgaf, sitt marrat", "urgent"),
        ("el jaw 7ar 40 el yoom, agdar asawi meso?", None),
        # Arabizi "cannot breathe" of someone with the patient (third person).
        ("ukhti ma3i il7een w ma tgdar titnaffas", "emergency"),
        # After blind set L (new example sentences): the verb cut in two; half the face numb
        # with a Gulf "y" for "j"; a mouth that will not close; booking idioms are not fits.
        ("ma agdar at naffas 3adil", "emergency"),
        ("nu9 wiy-ha 5adran min el 9ob7", "emergency"),
        ("fami ma ysakkir zain ba3d el ebar", "emergency"),
        ("thank you for fitting us in at short notice", None),
        ("ulti ruk hi nahi rahi kal raat se", "urgent"),
        ("kuch bhi khaun pet mein nahi tik raha, ulti ho rahi hai", "urgent"),
        ("sujan pehle se bahut zyada hai aaj", "urgent"),
        ("el waram gaa3d tintashir 3ala il 5ad", "urgent"),
        ("مكان الابر صار فيه صلعات صغيرة", "urgent"),
        # Round 16 (the questions of blind set P; new example sentences). Pimples and acne are
        # what patients come to have treated: a mention is a report only when tied to a session.
        ("does meso clear acne and the marks it leaves?", None),
        ("kya meso muhase ke daag hata sakta hai", None),
        ("मुझे पहले बहुत मुंहासे होते थे, क्या मेसो से निशान जाएंगे?", None),
        ("عندي حب الشباب من زمان، الميزو يفيد؟", None),
        ("got pimples all over the treated area two days after the session", "routine"),
        ("meso ke baad se chehre pe phunsiyan nikal rahi hain", "routine"),
        ("بعد الجلسة طلعت لي حبوب مكان الابر", "routine"),
        ("painful pimples keep coming where they injected, worse every day", "urgent"),
        # How much the needles hurt, examples of what could happen, will hair grow back.
        ("kitna dukhta hai injection lagwate time?", None),
        ("कितना दुखता है इंजेक्शन?", None),
        ("وفيها الم؟", None),
        ("البقعة فيها الم من امس", "routine"),
        ("ايش ممكن يصير بعدها؟ مثلا احمرار او كدمات", None),
        ("बाद में क्या हो सकता है, जैसे सूजन या लाली?", None),
        ("ganje patch pe baal wapas aayenge kya", None),
        ("الميزو يرجع الشعر للصلعة اللي فوق؟", None),
        # After blind set M (new example sentences): bumps all over like mosquito bites are
        # hives; a body gone stiff and shaking with the eyes rolled up is a seizure; "لو سمحت" is
        # "please"; Arabizi pus as yellow water, vomiting every hour; dizziness that is over.
        ("poore badan pe daane hi daane nikal aaye hain, har jagah", "emergency"),
        ("ummi hni ma3i, tyabbasat w tirta3ish kilha", "emergency"),
        ("لو سمحت ابي موعد، الجرح يطلع منه صديد", "urgent"),
        ("el jar7 yt6l3 mnh may 9afr min ams", "urgent"),
        ("astafrigh kil sa3a", "urgent"),
        ("felt a little dizzy in the car but I'm totally fine now", None),
        ("my lips swelled up but I'm fine now", "emergency"),
        ("session ke baad chakkar aaya tha par ab bilkul theek hu", None),
        ("fees sunke behosh hote hote bacha", None),
        ("momkin el ibar ysawi 7asasiya?", None),
        # Asking for someone to help is not "has anyone had ..." (a risk question).
        ("ابي احد يساعدني، ما اقدر اتنفس زين من بعد الابر", "emergency"),
        ("هل احد جاه ضيق تنفس من الميزو؟", None),
        # After blind sets N and R (new example sentences): "does it hurt?" asked before the
        # treatment, in every language, while "it hurts me" stays a report; hearsay; a medicine
        # dose asked in general; needle fear and nerves; idioms of bills, chores and traffic;
        # what comes back, spreads, or is a nodule or a bald patch in Arabic, Arabizi and Hindi.
        ("تعور؟", None),
        ("خدي يعورني من امس", "routine"),
        ("दुखता है क्या?", None),
        ("yooja3?", None),
        ("injection bahut chubhta hai kya", None),
        ("online some people said they got bumps after meso, how often does that happen?", None),
        ("what is the right ibuprofen dose for an adult with a headache", None),
        ("is meso for lower back pain effective?", None),
        ("which one should i choose, prp or meso, so confused", None),
        ("I get dizzy even at the thought of needles", None),
        ("parking here is giving me a headache lol", None),
        ("bhabhi ne bola ki meso se gaanth ho jati hai", None),
        ("sir dard me kitni goli leni chahiye", None),
        ("form bharna bhi sar dard hai yaar", None),
        ("needle dekh ke mera haath kaanpne lagta hai", None),
        ("बच्चों को खांसी और बुखार में कौनसी दवा दें", None),
        ("पीठ के दर्द में मेसो से आराम मिलता है क्या", None),
        ("बुखार कल उतर गया था पर आज फिर से चढ़ गया", "urgent"),
        ("سمعت الحساب وطحت مغمى علي 😂", None),
        ("الالتهاب وصلت لين رقبتي والمكان حار", "urgent"),
        ("طلعت لي حبوب قاسية تحت الجلد بعد اسبوعين وتعورني", "urgent"),
        ("lo 9ar 3indi waram shu asawi?", None),
        ("shfayfi ma ntaf5at abadan", None),
        ("el 7arara raa7at w rij3at al7een", "urgent"),
        # After blind sets O and S (new example sentences): a symptom now told after a risk
        # question; resolved with "now" first; "can make" and "was it an infection?" asked in
        # general; worse pain; "almost fainted" without a hyphen; a condition or anaesthesia,
        # not a seizure or faint; habitual questions; pus, an opened mark and smooth round patches
        # in Hinglish; Gulf redness, nodules, "if I get", spreading and vomiting, traffic.
        (
            "could meso make me go blind? my right eye has been kind of foggy since this morning",
            "emergency",
        ),
        ("I felt lightheaded after the jab but now I'm ok", None),
        ("bit dizzy earlier but it's fine now", None),
        ("can the treatment make your lips swell up?", None),
        ("my friend had a fever after hers, was it an infection?", None),
        ("the bruise on my arm is getting more painful every day", "urgent"),
        ("मैं क्लिनिक से निकलते ही बेहोश होते होते बची", None),
        ("ऑफिस का काम अपने आप में सिरदर्द है, meso का टाइम क्या है", None),
        ("मुझे मिर्गी है, क्या मेसो करवा सकती हूँ?", None),
        ("meso ke baad neel pad jate hain kya?", None),
        ("injection ke baad nishaan khul gaya aur taral nikal raha hai", "urgent"),
        ("sir ke peeche gol gol chikne patch ho gaye meso ke baad", "urgent"),
        ("الحمار على رقبتي قاعد يوسع من امس", "urgent"),
        ("طلعت لي عقد مؤلمة تحت الجلد مكان الابر", "urgent"),
        ("لو جاتني حساسية بعد الجلسة وش اسوي؟", None),
        ("الكلف لها علاج بالميزو؟", None),
        ("el 7imra 3la ydi tentishir w 7arra", "urgent"),
        ("atrajja3 kil shway w ma ythbat fe ba6ni shay", "urgent"),
        ("el za7ma 3la el share3 wja3 raas, 3indkum ba3d el maghrib?", None),
        # After blind sets P and T (new example sentences): a faint in Hinglish chat shorthand;
        # Egyptian and Levantine Arabizi (lost, fever, vomiting with a count, a bruise, growing
        # redness); Gulf "طرش" as vomiting only with a count, since it is also "to send".
        ("chkr aa ke market me gir gya, 2 min hosh nahi tha", "emergency"),
        ("ana mish 3aref ana fen ba3d el 7o2an", "emergency"),
        ("3andi so5oneya 3alya men el sob7", "urgent"),
        ("ba2ali youmein w raga3t 4 marrat", "urgent"),
        ("fi kadmeh zgheere ta7t 3ayni", "routine"),
        ("el 7mar 3am yekbar 3ala khaddi", "urgent"),
        ("طرشت ثلاث مرات من الصبح", "urgent"),
        ("طرشت لك صور المكان", None),
        # "is it painful?" and "are face injections painful?" asked before the treatment (a
        # narrower cue on "is it" had switched the general one off); "है" typed as "ह".
        ("is it very painful? I'm scared of needles", None),
        ("are face injections painful?", None),
        ("मेसो में दर्द होता ह क्या?", None),
        ("my lip fillers are painful since this morning", "routine"),
        # After blind set U (new example sentences): Levantine "waggaf" (stopped) with a doubled
        # consonant; "hiye" (she) is not "hives"; a Hinglish patch gone "a little blue" is a
        # bruise; formal "discomfort" that grows instead of settling; Gulf pain "stronger than
        # yesterday" and easing "أخف بوايد"; a Hindi relative named without "my" who rests at
        # home; Egyptian "مفيش" (there is no); Gulf "what happened to me" is not "it has been".
        ("el nazeef ma waggaf min sa3a", "emergency"),
        ("hiye ma3i bas ma 3anda shi, bade a3ref el as3ar", None),
        ("maathe pe thoda sa neela pad gaya hai", "routine"),
        ("The discomfort has increased every day instead of settling.", "urgent"),
        ("التورم اليوم اقوى من امس", "urgent"),
        ("فيه ألم خفيف بس صار أخف بوايد", "routine"),
        ("पापा को बुखार है, वो घर पर आराम कर रहे हैं, क्या मैं अपना सेशन करवा लूँ?", None),
        ("مفيش أي ورم ولا احمرار، امتى الجلسة الجاية؟", None),
        ("اللي صار لي من الحكة الشهر اللي فات خلاص راح", None),
        # After blind sets V and Z (new example sentences): Levantine Arabizi throat closing
        # and voice gone, "3am" kept whole (not "3 a.m."), bald patches, "wa2fet 5alas";
        # English well again past "but"; a Hindi bruise asked "how many days till it goes";
        # Hinglish "dil baith gaya" is a sinking heart; a Gulf pus colour is not skin colour;
        # questions about another procedure's pain and a dose for a fever.
        ("ma fi 7akka bas 7al8i 3am y2fil w soti ra7", "emergency"),
        ("el nazeef ma 3am yewa2ef min sa3a", "emergency"),
        ("sha3ri 3am yo2a3 bu2a3 mn ba3d el jalse", "urgent"),
        ("el 7akka ma wa2fet 5alas", "routine"),
        ("kan fi 7akka bas wa2fet 5alas", None),
        ("My cheek was bruised for two days but it's back to normal now", None),
        ("I faint when I see a syringe, can I lie down during it?", None),
        ("गाल पे नील पड़ गए, कितने दिन में हटेंगे?", "routine"),
        ("price sun ke toh dil baith gaya yaar", None),
        ("قيح طلع من الخد ولونه اخضر", "urgent"),
        ("is botox painful for the forehead?", None),
        ("सिर दर्द में कितनी गोली ले सकते हैं एक दिन में", None),
        # After blind set W (new example sentences): memory gone for what just happened is
        # confusion; a fever reading given before the word, or after "very hot"; Gulf "if pus
        # comes out" and "this topic gives me a headache"; a Hindi fever that is gone now.
        ("I can't remember how I got here and I keep forgetting what I was saying", "emergency"),
        ("running 39.2 fever since last night after the session", "urgent"),
        ("ibni ma3i so5n awi 38.9", "urgent"),
        ("لو طلع صديد وش اسوي؟", None),
        ("السالفة مصدعتني، ايهم احسن الميزو ولا الفيلر؟", None),
        ("कल बुखार था, अब बिल्कुल नहीं है", None),
        ("How long do bruising, swelling and redness usually last after meso?", None),
        # After blind sets X and AB (new example sentences): Levantine redness reaching the
        # neck, hard painful pimples weeks later, round gaps in the hair; a fever gone for a
        # month, "what are the chances", a friend in Abu Dhabi, a racing heart at the thought of
        # needles, "this is a headache" and "lal" before a noun; Gulf "وايد" after "not" or of
        # the nurse, a lump ten days later, "without pain"; Hinglish all-clear "aaj se ekdum
        # theek", treatment questions, "does it come?"; English "but it's been gone", what
        # someone read, swellings filling with fluid; Hindi vomiting that "just won't stop".
        ("el 7mourye wasalet la da2ni", "urgent"),
        ("tele3 3ande 7obob nashfa bet wag3 esbo3ein ba3d el jalse", "urgent"),
        ("sha3ri fi mantaqa mdawra ba3d el meso", "urgent"),
        ("kenet 3ande 7arara bas sarla esbo3 ra7et", None),
        ("shu e7timal yseer waram bel shafayef?", None),
        ("okhti fi abu dhabi 6ala3 laha 9adeed ba3d el meso", None),
        ("galbi ydig bsor3a lama afakar bel ebar", None),
        ("el 7agz da 9oda3 fe rasy", None),
        ("fi 5asm lal daf3 kash?", None),
        ("فيه ورم بسيط بس مب وايد", "routine"),
        ("الدكتورة والممرضة وايد لطيفين، فيه كدمة صغيرة بس", "routine"),
        ("طلع لي حبوب قاسية تعور، سبعة أيام بعد الجلسة", "urgent"),
        ("أبغى الجلسة بدون ألم، فيه كريم مخدر؟", None),
        ("kal thoda chakkar tha, aaj se ekdum theek hu", None),
        ("bald patch me bhi baal ugte hai kya meso se", None),
        ("back pain me kaam aata hai kya ye", None),
        ("meso ke baad sujan aati hai?", None),
        ("I had a mild headache after the first session but it's been gone for a week", None),
        ("I heard that bruising can spread for a day or two, is that normal?", None),
        ("two of the spots on my arm are swollen and filling with fluid", "urgent"),
        ("सुबह से उल्टी रुक ही नहीं रही", "urgent"),
        # After blind sets Y and AC (new example sentences): Hindi confusion told as talk,
        # round bald patches, "न गरम"; an example of a risk ("like ...", "jaise ...") also for
        # an emergency sign; a son at school, a brother-in-law in a hostel; Gulf "hot when I
        # touch it", "now it has vanished", "I read on Twitter"; Arabizi pus "2ee7", "bayzeed",
        # "5al9at", a temperature reading, "3adi a7e6", "jambi", "wja3 ras" of a place.
        ("पापा यहीं हैं, उल्टा सीधा बोल रहे हैं और तारीख भूल गए", "emergency"),
        ("सिर पर गोलाकार बाल झड़ गए हैं", "urgent"),
        ("छोटा सा दाना है, न गरम है न लाल", "routine"),
        ("Can meso cause a reaction like lip swelling?", None),
        ("allergy ho sakti hai kya, jaise saans phoolna?", None),
        ("meri beti ko bukhar hai, abhi school gayi hai", None),
        ("pati ke saath aayi thi, ab saans lene me dikkat ho rahi hai", "emergency"),
        ("bhai hostel me rehta hai, usko bukhar hai", None),
        ("الخد حار لما المسه وفيه احمرار يكبر", "urgent"),
        ("كان فيه تورم بسيط، الحين راح تماما", None),
        ("سمعت ان الابر تسوي كدمات، صح؟", None),
        ("6al3 2ee7 mn makan el ebra", "urgent"),
        ("el waga3 beyzeed kol yom", "urgent"),
        ("el waram elli kan 5al9at, el yom ma fini shay", None),
        ("ibni ga3id jambi w 7arartah 38.9", "urgent"),
        ("3adi a7e6 thalj 3ala el kadma?", "routine"),
        ("el za7ma 3endkon wja3 ras", None),
        ("पेट, पीठ और दोनों बाँहों पर उभरे हुए चकत्ते निकल आए हैं", "emergency"),
    ],
)
def test_round_two_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 29 (blind sets Z and AD, after their first contact): new sentences of each family,
        # with the emergencies the new cues must never hide.
        ("throwing up every half hour since lunch", "urgent"),
        ("I always get dizzy at the dentist, will I be ok during meso?", None),
        ("I feel faint right now", "emergency"),
        ("is it regulated or a grey area legally?", None),
        ("स्कैल्प पर दो गंजे धब्बे दिख रहे हैं", "urgent"),
        ("आँखों के सामने धब्बे दिख रहे हैं", "emergency"),
        ("बेटी अभी कॉलेज में है, फ़ोन पर बोली कि उसके गाल पर हल्की सूजन है", None),
        ("मेरी बहन अभी क्लिनिक में है, उसके होंठ सूज गए हैं", "emergency"),
        ("डॉक्टर बोले कि सूजन normal है पर मेरी सूजन बढ़ती जा रही है", "urgent"),
        ("कुछ लोग बोलते हैं बाद में सूजन आती है, सच है?", None),
        ("घुटने के पुराने दर्द में ये meso काम आता है क्या", None),
        ("सिर पर लाल दाने हैं, दर्द बिल्कुल नहीं है", "routine"),
        ("small red bumps on my cheek but no pain at all", "routine"),
        ("knee ke dard mein bhi lagta hai kya ye?", None),
        ("فيه ناس يطلع لهم ورم بعد الجلسة؟", None),
        ("الحبوب اللي طلعت بعد الجلسة فكت خالص", None),
        ("خدي حمر شوي وفيه نفخة خفيفة", "routine"),
        ("من الصبح الوجع بيزيد", "urgent"),
        ("ana azoo3 min el sob7", "routine"),
        ("ana azoo3 min el sob7 w ma wugaf", "urgent"),
        ("fee fara8at sal3a bel sha3ar ba3d el jalsat", "urgent"),
        ("el waram elli 3ala 5addi ikhtafat", None),
        ("umi fe 3amman w wesha wareme, hya msh ma3aya", None),
        ("el jaw el yom yiwallid jal6a", None),
    ],
)
def test_round_29_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 30 (blind sets AA and AE, after their first contact): new sentences of each family,
        # with the reports the new cues must keep.
        ("meso for dark spots on the cheeks?", None),
        ("I had mesotherapy for my bald patch and now the scalp is red and hot", "urgent"),
        ("सिर पर जहाँ सुई लगी थी वहाँ बाल गोल गोल झड़ गए", "urgent"),
        ("الشعر طاح بقع بقع بعد جلسات الميزو", "urgent"),
        ("sha3ri wi2i3 bo2a3 bo2a3 ba3d el meso", "urgent"),
        ("ma tala3li ay waram ba3d el jalsa", None),
        ("sha3ri 2eddeem rase 5afif men zaman", None),
        ("el as3ar 3indkom jabli jalta", None),
        ("ba3d el jalsa shafatay bil tawarrum w 3indi so3ooba fel bal3", "emergency"),
        ("ash3or bi thi8al fi lisani min sa3a", "emergency"),
    ],
)
def test_round_30_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 31 (blind sets AB and AF, after their first contact): new sentences of each family,
        # with the reports the new cues must keep. An arm or leg that "is not working".
        ("since lunch my right arm is not working properly", "emergency"),
        ("she is with me and her left leg stopped working", "emergency"),
        ("dayan pair theek se kaam nahi kar raha achanak se", "emergency"),
        ("अचानक बायां हाथ काम नहीं कर रहा", "emergency"),
        ("رجلي اليمين ما تشتغل من ساعة", "emergency"),
        ("eedi el yasar ma tishtaghil zain", "emergency"),
        # Arabizi throat closing and breath cutting off, which only the detector had caught.
        ("7asse zoori 3am yetsakkar", "emergency"),
        ("nafasi 3am yin2ata3 min sa3a", "emergency"),
        ("the numbing cream is not working, it stings", "routine"),
        # Idioms of a price, "I am here", a person who did not come, a future question.
        ("لما شفت السعر جاتني جلطة", None),
        ("el si3r 3indkom 3a6ani jal6a", None),
        ("امي بالبيت راسها يعورها، انا هني انتظر دوري", None),
        ("5ooy fi el bait 3indah 9uda3, hu ma ja ma3i", None),
        ("is the treatment going to be painful?", None),
        # Words the rules did not know, and cues that hid a report.
        ("do din se chehre pe halki laalima hai", "routine"),
        ("3indi 9uda3 min ba3d el jalsa", "routine"),
        ("tele3 ras abyad makan el ebre", "urgent"),
        ("thodi safed peep bhar gayi hai daane me", "urgent"),
        ("من كم يوم طلعت لي كتل تحت الجلد وتعورني", "urgent"),
        ("बुखार चार दिन पहले था, अब नहीं है", None),
        ("lotion rakh ke so sakti hu kya", None),
    ],
)
def test_round_31_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 32 (blind sets AC and AG, after their first contact). Lips that keep growing, lips
        # that start to swell, red spots or a rash all over the body (hives until shown otherwise).
        ("her lips keep getting bigger, she is with me", "emergency"),
        ("ab mere honth phoolne lage hain", "emergency"),
        ("7abb 7mar tele3 3ala kel jesmi", "emergency"),
        ("a rash came up all over my body an hour after the session", "emergency"),
        ("a small rash on my cheek is spreading", "urgent"),
        # Indian English temperature, vomiting that has not stopped, Arabizi patches and spreading.
        ("i have temperature since morning after the meso", "urgent"),
        ("the vomiting has not stopped since last night", "urgent"),
        ("sha3ri y6ee7 bug3a bug3a ba3d el jalsa", "urgent"),
        ("el a7mrar 3am yintishir 3ala ra2bti", "urgent"),
        # What the treatment is for: asked before any complaint, never after one.
        ("does meso help lower back pain?", None),
        ("गर्दन दर्द में मेसो काम आता है क्या?", None),
        ("my neck hurts since the session, does meso help with that?", "routine"),
    ],
)
def test_round_32_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 33 (blind sets AD and AH, after their first contact). Spreading told as reaching a
        # place, heat to the touch; Arabizi pus and weeping sores; formal Arabic bare patches.
        ("laali ab kaan tak aa gayi hai", "urgent"),
        ("gaal laal hai aur chhoone pe tapta hai", "urgent"),
        ("fi 2e7 3and el ebra", "urgent"),
        ("el jar7 yafrez sa2il min yomein", "urgent"),
        ("ظهرت بقعة خالية من الشعر بعد الجلسة", "urgent"),
        # Gone now; still going stays current.
        ("jo chakkar aa rahe the wo kal se band hai", None),
        ("kal halki soojan thi, ab nishaan bhi nahi", None),
        ("सुबह वाली उल्टी अब बंद है", None),
        ("الحكة وقفت الحمد لله", None),
        ("الاستفراغ ما توقف من الصبح", "urgent"),
        # Questions, not reports; treatment elsewhere; an idiom.
        ("pimple ho gaya to kaise pata chalega ki infection hai", None),
        ("pehli baar hai, dard hoga kya meso me?", None),
        ("injection lagate waqt चुभता है क्या?", None),
        ("my cousin had meso at another clinic and got bruises, is that normal?", None),
        ("my mum had meso at another clinic and now she can't breathe", "emergency"),
        ("عميت عيوني وانا ادور على العيادة", None),
        # Relief asked for what the patient has stays a report; relief from the treatment is a
        # question about what it treats.
        ("सेशन के बाद से सूजन और दर्द है, आराम मिल सकता है क्या?", "routine"),
        ("meso ke baad se dard hai, aaram mil sakta hai kya", "routine"),
        ("घुटने के दर्द में मेसो से आराम मिल सकता है क्या?", None),
    ],
)
def test_round_33_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Before round 34's blind sets. "Day by day" worsens only when what follows does not say
        # it is getting better; "X hai, normal hai na?" asks about a sign the patient has now.
        ("sujan din ba din behtar ho rahi hai", "routine"),
        ("dard din pe din theek ho raha hai", "routine"),
        ("sujan din ba din badh rahi", "urgent"),
        ("दर्द दिन ब दिन कम हो रहा है", "routine"),
        ("दर्द दिन ब दिन बढ़ रहा है", "urgent"),
        ("thodi sojan hai, normal hai na?", "routine"),
        ("THODI SOJAN H NORMAL H NA", "routine"),
        ("थोड़ी सूजन है, नॉर्मल है ना?", "routine"),
        ("meso ke baad sujan normal hai kya?", None),
        ("मेसो के बाद सूजन नॉर्मल है क्या?", None),
    ],
)
def test_before_round_34_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 34 (blind sets AE and AI, after their first contact). Arabizi boils, small bumps and
        # bruises, pain that has grown stronger, Gulf pain "more than the first day".
        ("tala3li dimmel 3ala dahri ba3d el jalse", "urgent"),
        ("3indi 7abbat sghira ba3d el meso", "routine"),
        ("fi kadamat 3ala wijhi ba3d el jalsa", "routine"),
        ("el waja3 ba2a a2wa el yom", "urgent"),
        ("المكان يعورني اكثر من اول يوم", "urgent"),
        ("हल्का बुखार है 99 पॉइंट 6 सुबह से", "urgent"),
        # Gone for good, with the time it went: Hinglish, Hindi, Gulf.
        ("sujan kal raat se bilkul khatam hai", None),
        ("bukhar tha, ab poori tarah theek ho gaya", None),
        ("दर्द था, अब पूरी तरह चला गया है", None),
        ("الحكة راحت تماما من امس", None),
        # Relatives elsewhere; a relative's complaint asked about as something to treat.
        ("didi ka gaal sooj gaya tha, wo Mumbai mein hai", None),
        ("my brother had meso at a salon and got bad pus bumps, he's in Delhi now", None),
        ("papa ne phone pe bataya ki unke haath pe neel hai", None),
        ("मम्मी ने फोन पर बता रही थीं कि उनके हाथ पर जहाँ injection लगे थे वहाँ से पस आ रहा है", None),
        ("meri behen mere saath hai, kya wo bhi pimples ke liye meso karwa sakti hai?", None),
        # Idioms and questions: jealousy, the weather, a clinic that does not answer, a boss who
        # gives a headache, comparisons of pain, fear of fainting, sun-tanned skin.
        ("result dekh ke sab jal rahe hai", None),
        ("aaj dubai me kitna temperature hai", None),
        ("ما تردون على التلفون ليش؟", None),
        ("el mudeer 3amalli suda3 el yom", None),
        ("الراس اكثر الم من الوجه؟", None),
        ("so scared ill faint at the sight of the needle", None),
        ("dhoop me rehke chehra kaala pad gaya, meso se tan jayega?", None),
        ("confession: I am scared of needles", None),
        ("so many options for my face, so confused", None),
        # "for a few days now" is not "how many days?"; "after how many days" still asks.
        ("bas mn kam yom fi 7ebbet 2asye ta7t el jild", "routine"),
        ("min kam yom yroo7 el waram?", None),
    ],
)
def test_round_34_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 35 (after blind sets AF and AJ; written anew). Egyptian vomiting, plural and formal
        # oozing in Hinglish, Arabizi "getting bigger", "widening" and "hurts more".
        ("el targee3 mstamer mn el sob7", "routine"),
        ("gaal ke daane ris rahe hai", "urgent"),
        ("jahan injection laga wahan se dravya nikal raha hai", "urgent"),
        ("el 7amar sarat akbar mn embare7", "urgent"),
        ("el 7amar kel yom ywasse3", "urgent"),
        # A bare spot on the head in Gulf Arabic and Arabizi.
        ("لقيت فراغ بالراس بعد الميزو", "urgent"),
        ("fi mkan fathi bel ras ba3d el jalsa", "urgent"),
        # Long past: last month, "two months ago" in Hindi, Hinglish and Gulf Arabic.
        ("I was a bit dizzy during the session last month but it settled", None),
        ("चक्कर आया था पर वो तीन महीने पहले की बात है", None),
        ("chakkar aaya tha par wo pehle ki baat hai", None),
        ("دخت مرة بس هذا قبل شهرين", None),
        # And now me: the friend's past does not cover the patient's own report.
        ("اختي صار لها التهاب زمان، والحين انا عندي صديد", "urgent"),
        # A symptom the patient has now, then a question about what it could become.
        ("gaal pe sujan hai, kya ye infection ban sakti hai?", "routine"),
        ("I have a little redness, could it turn into an infection?", "routine"),
        # Questions: a risk after the signs it names, a negated list with commas, what forms as a
        # rule, what was read online, a complaint named as something to treat, "and such?", "is
        # what they say true?", Arabizi "lal" (for the) before a noun.
        ("allergy ya saans ki dikkat ka koi risk hai kya?", None),
        ("I don't have a fever, swelling or any pain, just a question", None),
        ("kya ganth ban jaati hai meso ke baad?", None),
        ("maine padha ki meso se infection hota hai, sach hai?", None),
        ("kamar dard ke ilaaj mein meso kaam karta hai?", None),
        ("وش ممكن يصير بعد الجلسة؟ تورم وهيك؟", None),
        ("سمعت انه يسبب التهابات، الكلام ده صح؟", None),
        ("shukran ktir lal staff", None),
    ],
)
def test_round_35_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 36 (after blind sets AG and AK; written anew). Vomiting counted by the time it
        # happened, lumps in the Hinglish plural, a patch of hair fallen in Gulf Arabic.
        ("threw up for the 4th time since the injections", "urgent"),
        ("gardan pe do ganthein ho gayi hai", "routine"),
        ("طاح شعري بقعة فوق الاذن", "urgent"),
        # Told on the phone by someone elsewhere.
        ("my sister phoned me saying her cheek is swollen, she lives in Pune", None),
        ("bhabhi ne phone pe bola ki sujan hai, wo Delhi mein hai", None),
        # Gone, all of them; "if" in Egyptian Arabizi.
        ("el kadamat kollaha ra7et el7amdella", None),
        ("lw shafayfi wermet wa2t el jalsa a3mel eh?", None),
        # Emergencies only the detector had carried: Egyptian "oghmy 3alaya" (I fainted), Arabizi
        # "dee2 nafas" (short of breath), hives named on three parts of the body.
        ("oghma 3alayya min shwaya", "emergency"),
        ("3ande dee2 nafas ba3d el ebar", "emergency"),
        ("hives on my chest, arms and legs since the session", "emergency"),
        ("a couple of hives on my neck and back", "urgent"),
    ],
)
def test_round_36_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # Round 37 (after blind sets AH and AL; written anew). Someone else's emergency now, where
        # nothing says they are elsewhere; "back home in" says they are.
        ("بنتي عندها نوبة صرع الحين بالصالة", "emergency"),
        ("my dad back home in Kochi sometimes gets chest pain, can he have meso?", None),
        # Hair missing in patches; Egyptian vomiting of all one eats, even water; Gulf "zirga".
        ("there are patches of hair missing on my scalp since the sessions", "urgent"),
        ("برجع كل حاجة باكلها من امبارح حتى المية", "urgent"),
        ("fee zirga 5afeefa 3ala 5addi", "routine"),
        # Idioms and questions: Egyptian "a headache" for a hassle, Indian English "a confusion"
        # for a doubt, what usually happens, a list of what might happen, this time too.
        ("الزحمة عندكم وجع دماغ", None),
        ("ek confusion hai, meso pehle karu ya PRP?", None),
        ("sujan aa jaati hai kya injection ke baad?", None),
        ("kuch problem to nahi hoti? daag ya infection ho jaye aisa", None),
        ("pichhli baar do din tak sujan rahi thi, is baar bhi hogi kya?", None),
        ("daane do din mein gayab ho gaye, thanks", None),
        ("dabane pe halka dard hota hai bas", "routine"),
        ("सूजन होती हे क्या इसके बाद", None),
        ("क्या इससे घुटने का दर्द घटता है?", None),
    ],
)
def test_round_37_families(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity, triage(text).mentions
